#!/bin/sh
# mandoc-lint.sh: every man page is clean under "mandoc -Tlint -W warning".
# Prints TAP; exits 77 (skip) when mandoc is not installed.

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
set -- $pages
echo "1..$#"
n=0
failed=0
for page in $pages; do
	n=$((n + 1))
	out=$("$MANDOC" -Tlint -W warning "$top/man/$page" 2>&1)
	status=$?
	# mandoc may add a note on an outdated mandoc.db: not about the page.
	out=$(printf '%s\n' "$out" | grep -v 'mandoc\.db' | grep -v '^$')
	if [ "$status" -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n - mandoc -Tlint -W warning man/$page"
	else
		echo "not ok $n - mandoc -Tlint -W warning man/$page"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=1
	fi
done
exit "$failed"
