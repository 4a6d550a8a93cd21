#!/bin/sh
# build-deb.sh: builds the Debian package of tickd with
# "dpkg-buildpackage -us -uc -b", which wants debian/ at the top of the
# source tree.  The tree is copied to a temporary directory (without _build
# and .git), contrib/debian becomes its debian/, and the .deb files are
# copied to the output directory, _build/deb unless one is given, with the
# .changes and .buildinfo files that lintian and dput read.  The test
# suite is skipped (DEB_BUILD_OPTIONS=nocheck) unless DEB_BUILD_OPTIONS is
# set; "make check" runs it.  Needs debhelper and the Build-Depends of
# contrib/debian/control (contrib/install-deps.sh installs them).

set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/_build/deb}
case $out in
/*) ;;
*) out=$(pwd)/$out ;;
esac

version=$(sed -n 's/^AC_INIT(\[tickd\], \[\([^]]*\)\].*/\1/p' \
    "$top/configure.ac")
deb=$(sed -n '1s/^tickd (\([^)]*\)).*/\1/p' "$top/contrib/debian/changelog")
if [ "$version" != "$deb" ]; then
	echo "build-deb: configure.ac says $version but" \
	    "contrib/debian/changelog says $deb" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
src=$work/tickd-$version
mkdir "$src"
tar -C "$top" --exclude=./_build --exclude=./.git --exclude=./debian \
    --exclude=./autom4te.cache -cf - . | tar -C "$src" -xf -
cp -R "$top/contrib/debian" "$src/debian"
rm -f "$src/debian/build-deb.sh"
(
	cd "$src"
	DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} \
	    dpkg-buildpackage -us -uc -b
)
mkdir -p "$out"
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"/*.deb "$out"/*.changes
