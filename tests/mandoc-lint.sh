#!/bin/sh
# mandoc-lint.sh: every man page is clean under "mandoc -Tlint -W style",
# STYLE notes included.  Prints TAP; exits 77 (skip) when mandoc is not
# installed.
#
# Cross references are checked too: the tree's pages are linked into a
# temporary manual tree put first in MANPATH, so that an .Xr to a tickd
# page (tick*) that does not exist is reported.  An .Xr to another
# program's page (fsync(2), redis-cli(1), ...) is not: whether that is
# installed depends on the machine, not on the page.

MANDOC=${MANDOC:-mandoc}
top=${TOP_SRCDIR:-$(dirname "$0")/..}
pages="tickd.8 tickd.conf.5 tickd-protocol.7"
pages="$pages tickd-audit.7"
# Every other page in man/ too, so that a new page cannot be left out.
for f in "$top"/man/*.[1-9]; do
	case " $pages " in
	*" ${f##*/} "*) ;;
	*) pages="$pages ${f##*/}" ;;
	esac
done

if ! command -v "$MANDOC" >/dev/null 2>&1; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
for page in $pages; do
	sec=${page##*.}
	mkdir -p "$tmp/man$sec"
	ln -s "$(cd "$top/man" && pwd)/$page" "$tmp/man$sec/$page"
done
MANPATH=$tmp:
export MANPATH

set -- $pages
echo "1..$#"
n=0
failed=0
for page in $pages; do
	n=$((n + 1))
	out=$("$MANDOC" -Tlint -W style "$top/man/$page" 2>&1)
	status=$?
	# mandoc may add a note on an outdated mandoc.db: not about the page.
	out=$(printf '%s\n' "$out" | grep -v 'mandoc\.db' | grep -v '^$' |
	    while IFS= read -r line; do
		case $line in
		*"STYLE: referenced manual not found: Xr "*)
			# Only tickd's own pages must be found.
			case ${line##*: Xr } in
			tick*) ;;
			*) continue ;;
			esac
			;;
		esac
		printf '%s\n' "$line"
	    done)
	# Only a STYLE note for a manual outside the tree: the status is 1.
	if [ "$status" -le 1 ] && [ -z "$out" ]; then
		echo "ok $n - mandoc -Tlint -W style man/$page"
	else
		echo "not ok $n - mandoc -Tlint -W style man/$page"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=1
	fi
done
exit "$failed"
