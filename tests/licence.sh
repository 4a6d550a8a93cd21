#!/bin/sh
# licence.sh: tickd is under the ISC licence (LICENSE): every C source and
# header in the tree says so on its first line, and the Debian package's
# copyright file names it.  Prints TAP.

top=${TOP_SRCDIR:-$(dirname "$0")/..}
n=0
fail=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

echo "1..4"
grep -q '^Permission to use, copy, modify, and distribute this software for any$' \
    "$top/LICENSE" 2>/dev/null
ok $? "LICENSE holds the ISC licence"

missing=$(cd "$top" && find src tests bench compat -name '*.[ch]' \
    -type f | sort | while read -r f; do
	[ "$(head -n 1 "$f")" = "/* SPDX-License-Identifier: ISC */" ] ||
	    echo "$f"
done)
[ -z "$missing" ]
ok $? "every C file starts with /* SPDX-License-Identifier: ISC */"
for f in $missing; do
	echo "# missing in $f"
done

grep -q '^License: ISC$' "$top/contrib/debian/copyright"
ok $? "contrib/debian/copyright names ISC"

! grep -q '@localhost' "$top/contrib/debian/control" \
    "$top/contrib/debian/changelog"
ok $? "no @localhost address in the package's control and changelog"
exit $fail
