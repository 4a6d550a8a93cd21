#!/bin/sh
# js-lint.sh: every JavaScript module of the web client (www/js) parses as
# an ES module under "node --check".  Prints TAP; exits 77 (skip) when node
# is not installed.  A file is fed on standard input with
# --input-type=module, because "node --check FILE.js" would parse it as a
# CommonJS script and let module syntax errors through; a broken module is
# checked first so that a lint that cannot fail is noticed.

top=${TOP_SRCDIR:-$(dirname "$0")/..}
NODE=${NODE:-node}

if ! command -v "$NODE" >/dev/null 2>&1; then
	echo "1..0 # SKIP node is not installed (Debian: nodejs)"
	exit 77
fi
set -- "$top"/www/js/*.js
echo "1..$(($# + 1))"
n=1
failed=0
if printf 'export const a = ;\n' |
    "$NODE" --input-type=module --check >/dev/null 2>&1; then
	echo "not ok 1 - node --check rejects a broken module"
	failed=1
else
	echo "ok 1 - node --check rejects a broken module"
fi
for f in "$@"; do
	n=$((n + 1))
	if out=$("$NODE" --input-type=module --check <"$f" 2>&1); then
		echo "ok $n - node --check www/js/${f##*/}"
	else
		echo "not ok $n - node --check www/js/${f##*/}"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=1
	fi
done
exit $failed
