#!/bin/sh
# install-deps.sh: installs, as root on Debian 12, the packages tickd needs
# to build, to run its tests (the web client's in headless chromium through
# selenium, its JavaScript lint with node), to lint its man pages and to
# build its Debian package (contrib/debian/build-deb.sh).  Packages already
# installed are left alone; nothing is fetched when none is missing.

PACKAGES="build-essential autoconf automake pkg-config
	libevent-dev liblmdb-dev libjansson-dev libssl-dev libwslay-dev
	libpq-dev libcurl4-openssl-dev libhiredis-dev python3 python3-websockets
	python3-redis python3-cryptography python3-yaml
	redis-server redis-sentinel redis-tools mandoc lmdb-utils procps
	ca-certificates curl iproute2
	debhelper dpkg-dev fakeroot adduser bsdutils
	postgresql nginx-light
	clang libclang-rt-14-dev valgrind
	chromium chromium-driver python3-selenium nodejs"

missing=
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "install-deps: every package is installed"
	exit 0
fi

echo "install-deps: installing$missing"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: run as root to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update || exit 1
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends $missing
