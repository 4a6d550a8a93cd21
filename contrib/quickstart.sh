#!/bin/sh
# quickstart.sh: installs what is missing (as root, on Debian 12), builds
# tickd in _build/quickstart and runs it in the foreground on a loopback
# configuration with registration open, its store in the build tree and the
# web client of www/ at http://127.0.0.1:8080/, the URL it prints.

set -e
top=$(cd "$(dirname "$0")/.." && pwd)

sh "$top/contrib/install-deps.sh"

cd "$top"
if [ -f config.status ]; then
	build=$top		# already configured in the source tree
else
	[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
	build=$top/_build/quickstart
	mkdir -p "$build"
	cd "$build"
	[ -f Makefile ] || "$top/configure"
fi
cd "$build"
make -j2 tickd tickctl contrib/quickstart.conf
mkdir -p quickstart-data

url=127.0.0.1:8080
json='Content-Type: application/json'
cat <<MSG

tickd starts now, in the foreground; Ctrl-C stops it.

    Open http://$url/ in a browser

and register two users, the second in a private window or another
browser, to chat.

configuration: $build/contrib/quickstart.conf
store:         $build/quickstart-data
web client:    $top/www

Other clients speak the protocol (man $top/man/tickd-protocol.7) directly:
  curl -H '$json' -d '{"user":"alice","password":"correct horse"}' http://$url/v1/register
  curl -H '$json' -d '{"user":"alice","password":"correct horse"}' http://$url/v1/login
  python3 -m websockets 'ws://$url/v1/ws?token=TOKEN'
  > {"op":"send","to":"alice","id":"1","body":"hello"}
Administer it with tickctl, for example:
  $build/tickctl -c $build/contrib/quickstart.conf user list
See man $top/man/tickctl.8

MSG
exec ./tickd -f -c contrib/quickstart.conf
