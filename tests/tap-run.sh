#!/bin/sh
# tap-run.sh: runs one TAP test program for automake's tap-driver.sh.  An
# exit status of 77 means "skip", as with automake's plain driver: what the
# program printed becomes comments under a "1..0 # SKIP" plan.

case $1 in
*.sh)	set -- "${SHELL:-/bin/sh}" "$@" ;;
esac
out=$(mktemp "${TMPDIR:-/tmp}/tap-run.XXXXXX") || exit 99
"$@" >"$out"
status=$?
if [ "$status" -eq 77 ]; then
	reason=$(sed -n 's/^1\.\.0 *# *[Ss][Kk][Ii][Pp][: ]* *//p' "$out" |
	    head -n 1)
	sed 's/^/# /' "$out"
	echo "1..0 # SKIP ${reason:-exit status 77}"
	status=0
else
	cat "$out"
fi
rm -f "$out"
exit "$status"
