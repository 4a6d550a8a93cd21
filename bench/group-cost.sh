#!/bin/sh
# group-cost.sh: tickd's CPU cost of one send to a group of 1,024 members,
# counted in instructions by valgrind's callgrind as cpu-cost.sh counts a
# 1:1 message.
#
# It seeds 1,024 accounts, then twice starts tickd under callgrind on a
# fresh copy of that store (abuse limits lifted) and runs tickd-bench group
# against it: one group of 1,024 members, each with one connected device
# that acks what it gets, one sender with one send in flight, for a short
# and for a long time.  Both runs pay the same for starting, connecting
# 1,024 devices, creating the group and stopping; the difference of their
# instructions over the difference of their group sends is what one send
# costs: its commit to 1,024 queues, the 1,023 pushes and the 1,023 acks
# (a group over group_receipts_max has no receipts).
#
# usage: group-cost.sh [-m members] [-s short] [-l long] builddir
#   -m  members (default 1024)
#   -s  seconds of load of the short run (default 2)
#   -l  seconds of load of the long run (default 10)

set -u

usage() {
	echo "usage: group-cost.sh [-m members] [-s short] [-l long]" \
	    "builddir" >&2
	exit 2
}

members=1024 short=2 long=10
while getopts m:s:l: opt; do
	case $opt in
	m)	members=$OPTARG ;;
	s)	short=$OPTARG ;;
	l)	long=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
command -v valgrind >/dev/null || { echo "group-cost: needs valgrind" >&2;
    exit 1; }
build=$(cd "$1" && pwd) || exit 1
bench=$build/bench/tickd-bench
for p in "$build/tickd" "$bench"; do
	[ -x "$p" ] || { echo "group-cost: no $p" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tickd-gcost.XXXXXX") || exit 1
vpid=
cleanup() {
	[ -n "$vpid" ] && kill -TERM "$vpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The accounts, once; each run starts from a copy.
mkdir -p "$tmp/seed" || exit 1
"$bench" seed -D "$tmp/seed/data" -M 4g -u g -n "$members" \
    -T "$tmp/g.tok" >/dev/null || { echo "group-cost: seed failed" >&2;
    exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null

counters="messages_accepted|group_fanout_items|items_acked|commits"

# run NAME SECONDS: one tickd under callgrind, one tickd-bench group run;
# sets ir (instructions) and sends (group sends accepted).
run() {
	dir=$tmp/$1
	rm -rf "$dir"
	cp -R "$tmp/seed" "$dir" || exit 1
	port=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$dir/tickd.conf" <<EOF
listen 127.0.0.1:$port
data_dir $dir/data
pidfile $dir/tickd.pid
control_socket $dir/ctl.sock
map_size 4g
max_queue 2000000
log_level warn
send_rate 0
login_rate 0
max_connections 100000
max_connections_per_ip 100000
EOF
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
	    "$build/tickd" -f -c "$dir/tickd.conf" >"$dir/log" 2>&1 &
	vpid=$!
	n=0
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 300 ] || { echo "group-cost: tickd did not start" >&2;
		    tail -n 5 "$dir/log" >&2; exit 1; }
		sleep 0.2
	done
	"$bench" -q -a "127.0.0.1:$port" -T "$tmp/g.tok" group -g 1 \
	    -k "$members" -s 1 -w 1 -d "$2" -W 1 >"$dir/bench.txt" 2>&1 ||
	    { echo "group-cost: tickd-bench failed" >&2;
	    cat "$dir/bench.txt" >&2; exit 1; }
	curl -s "http://127.0.0.1:$port/metrics" |
	    grep -E "^tickd_($counters)_total" >"$dir/metrics.txt"
	kill -TERM "$vpid"
	wait "$vpid"
	vpid=
	ir=$(sed -n 's/^summary: *//p' "$dir/cg.out")
	sends=$(sed -n 's/^tickd_messages_accepted_total //p' \
	    "$dir/metrics.txt")
}

run short "$short"
ir1=$ir sends1=$sends
run long "$long"
ir2=$ir sends2=$sends
if [ -z "$ir1" ] || [ -z "$ir2" ] || [ -z "$sends1" ] ||
    [ -z "$sends2" ] || [ "$sends2" -le "$sends1" ]; then
	echo "group-cost: no count (sends $sends1, $sends2)" >&2
	exit 1
fi
echo "$build: one send to a group of $members members:" \
    "$(((ir2 - ir1) / (sends2 - sends1))) instructions" \
    "($((ir2 - ir1)) for $((sends2 - sends1)) more group sends;" \
    "runs of $sends1 and $sends2 sends, $ir1 and $ir2 instructions)"
sed 's/^/    /' "$tmp/long/metrics.txt"
