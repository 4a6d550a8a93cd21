#!/bin/sh
# valgrind-run.sh: the LOG_COMPILER of make check-valgrind.  A compiled
# test runs under valgrind memcheck with the options in VALGRIND_OPTS; a
# shell script runs as it is (the tickd it starts, if any, is wrapped by
# the script itself through TICKD_VALGRIND).

case $1 in
*.sh)	exec "${SHELL:-/bin/sh}" "$@" ;;
esac
if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind is not installed"
	exit 77
fi
exec valgrind -q "$@"
