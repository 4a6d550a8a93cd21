#!/bin/sh
# cpu-cost.sh: tickd's CPU cost per message, counted in instructions by
# valgrind's callgrind rather than timed, so that two builds can be
# compared on a shared machine whose speed moves from minute to minute.
#
# For each build tree named, it seeds 8 accounts, starts that tickd under
# callgrind on a temporary data_dir (abuse limits lifted), runs tickd-bench
# throughput against it (4 pairs, window 32, for the given seconds), stops
# it, and prints the instructions tickd executed beyond those of starting
# and stopping without load (measured first), in all and per message
# accepted, with the counters of /metrics.  The run is about fifty times
# slower than natively; the count per message hardly moves between runs,
# unlike any time.
#
# usage: cpu-cost.sh [-d seconds] builddir ...
#   -d  seconds of load (default 20)

set -u

usage() {
	echo "usage: cpu-cost.sh [-d seconds] builddir ..." >&2
	exit 2
}

dur=20
while getopts d: opt; do
	case $opt in
	d)	dur=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
command -v valgrind >/dev/null || { echo "cpu-cost: needs valgrind" >&2;
    exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tickd-cost.XXXXXX") || exit 1
vpid=
cleanup() {
	[ -n "$vpid" ] && kill -TERM "$vpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_tickd BUILD DIR: tickd of BUILD under callgrind on a fresh store in
# DIR, with 8 accounts seeded by $bench; returns once it answers.
start_tickd() {
	rm -rf "$2"
	mkdir -p "$2" || exit 1
	port=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$2/tickd.conf" <<EOF
listen 127.0.0.1:$port
data_dir $2/data
pidfile $2/tickd.pid
control_socket $2/ctl.sock
map_size 1g
max_queue 2000000
log_level warn
send_rate 0
login_rate 0
EOF
	"$bench" seed -D "$2/data" -M 1g -u t -n 8 -T "$2/t.tok" \
	    >/dev/null || { echo "cpu-cost: seed failed" >&2; exit 1; }
	valgrind --tool=callgrind --callgrind-out-file="$2/cg.out" \
	    "$1/tickd" -f -c "$2/tickd.conf" >"$2/log" 2>&1 &
	vpid=$!
	n=0
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 300 ] || { echo "cpu-cost: tickd did not start" >&2;
		    tail -n 5 "$2/log" >&2; exit 1; }
		sleep 0.2
	done
}

# stop_tickd DIR: stops it; ir is the instructions it executed.  (Not
# run in a subshell, which could not wait for tickd.)
stop_tickd() {
	kill -TERM "$vpid"
	wait "$vpid"
	vpid=
	ir=$(sed -n 's/^summary: *//p' "$1/cg.out")
}

for build; do
	build=$(cd "$build" && pwd) || exit 1
	# A build tree from before bench/ has tickd-bench at its top: builds
	# of older commits are compared too.
	bench=$build/bench/tickd-bench
	[ -x "$bench" ] || bench=$build/tickd-bench
	for p in "$build/tickd" "$bench"; do
		[ -x "$p" ] || { echo "cpu-cost: no $p" >&2; exit 1; }
	done
	# Starting and stopping without load, taken off the count.
	start_tickd "$build" "$tmp/idle"
	stop_tickd "$tmp/idle"
	base=$ir
	run=$tmp/run
	start_tickd "$build" "$run"
	"$bench" -q -a "127.0.0.1:$port" -T "$run/t.tok" \
	    throughput -p 4 -w 32 -d "$dur" -W 1 >"$run/bench.txt" 2>&1 ||
	    { echo "cpu-cost: tickd-bench failed" >&2; cat "$run/bench.txt" >&2;
	    exit 1; }
	curl -s "http://127.0.0.1:$port/metrics" | grep -E \
	    '^tickd_(messages_accepted|items_delivered|items_acked|receipts|commits)_total' \
	    >"$run/metrics.txt"
	stop_tickd "$run"
	msgs=$(sed -n 's/^tickd_messages_accepted_total //p' "$run/metrics.txt")
	if [ -z "$base" ] || [ -z "$ir" ] || [ -z "$msgs" ] ||
	    [ "$msgs" -eq 0 ]; then
		echo "cpu-cost: no count for $build" >&2
		exit 1
	fi
	echo "$build: $((ir - base)) instructions beyond starting and" \
	    "stopping ($base), $msgs messages accepted," \
	    "$(((ir - base) / msgs)) per message"
	sed 's/^/    /' "$run/metrics.txt"
done
