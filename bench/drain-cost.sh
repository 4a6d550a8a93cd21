#!/bin/sh
# drain-cost.sh: tickd's CPU cost of replaying a queue, counted in
# instructions by valgrind's callgrind as cpu-cost.sh counts a message.
#
# For each build tree named, it seeds 2 accounts and starts that tickd
# (abuse limits lifted) without callgrind; tickd-bench drain fills the
# second user's one device with messages from the first while it is
# offline, then restarts tickd under callgrind and connects the device,
# which replays its queue to the last ack (each ack deletes an item and
# queues a delivered receipt for the offline sender).  It prints the
# instructions tickd executed beyond those of starting and stopping without
# load (measured first), in all and per message replayed.
#
# usage: drain-cost.sh [-m messages] [-w window] builddir ...
#   -m  messages queued (default 50000)
#   -w  tickd-bench's window of sends while filling (default 1024)

set -u

usage() {
	echo "usage: drain-cost.sh [-m messages] [-w window] builddir ..." >&2
	exit 2
}

msgs=50000 window=1024
while getopts m:w: opt; do
	case $opt in
	m)	msgs=$OPTARG ;;
	w)	window=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
command -v valgrind >/dev/null || { echo "drain-cost: needs valgrind" >&2;
    exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tickd-drain.XXXXXX") || exit 1
cleanup() {
	[ -f "$tmp/tickd.run" ] && kill -TERM "$(cat "$tmp/tickd.run")" \
	    2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_tickd BUILD DIR [valgrind...]: tickd of BUILD on a fresh store in
# DIR with 2 accounts seeded by $bench, its pid in $tmp/tickd.run; returns
# once it answers.
start_tickd() {
	b=$1 d=$2
	shift 2
	rm -rf "$d"
	mkdir -p "$d" || exit 1
	port=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$d/tickd.conf" <<EOF
listen 127.0.0.1:$port
data_dir $d/data
pidfile $d/tickd.pid
control_socket $d/ctl.sock
map_size 4g
max_queue 2000000
max_user_bytes 0
log_level warn
send_rate 0
login_rate 0
EOF
	"$bench" seed -D "$d/data" -M 4g -u d -n 2 -T "$d/t.tok" \
	    >/dev/null || { echo "drain-cost: seed failed" >&2; exit 1; }
	"$@" "$b/tickd" -f -c "$d/tickd.conf" >"$d/log" 2>&1 &
	echo $! >"$tmp/tickd.run"
	n=0
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 300 ] || { echo "drain-cost: tickd did not start" >&2;
		    tail -n 5 "$d/log" >&2; exit 1; }
		sleep 0.2
	done
}

# stop_tickd: stops the tickd of $tmp/tickd.run and waits until it is gone.
stop_tickd() {
	pid=$(cat "$tmp/tickd.run")
	rm -f "$tmp/tickd.run"
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
	done
}

for build; do
	build=$(cd "$build" && pwd) || exit 1
	bench=$build/bench/tickd-bench
	for p in "$build/tickd" "$bench"; do
		[ -x "$p" ] || { echo "drain-cost: no $p" >&2; exit 1; }
	done
	# Starting and stopping without load, taken off the count.
	start_tickd "$build" "$tmp/idle" valgrind --tool=callgrind \
	    --callgrind-out-file="$tmp/idle/cg.out"
	stop_tickd
	base=$(sed -n 's/^summary: *//p' "$tmp/idle/cg.out")
	run=$tmp/run
	start_tickd "$build" "$run"
	# The restart tickd-bench runs between filling and draining.
	cat >"$run/restart.sh" <<EOF
#!/bin/sh
pid=\$(cat "$tmp/tickd.run")
kill -TERM "\$pid"
while kill -0 "\$pid" 2>/dev/null; do
	sleep 0.01
done
valgrind --tool=callgrind --callgrind-out-file="$run/cg.out" \
    "$build/tickd" -f -c "$run/tickd.conf" >>"$run/log" 2>&1 &
echo \$! >"$tmp/tickd.run"
EOF
	chmod +x "$run/restart.sh"
	"$bench" -q -a "127.0.0.1:$port" -T "$run/t.tok" drain -m "$msgs" \
	    -w "$window" -x "$run/restart.sh" >"$run/bench.txt" 2>&1 ||
	    { echo "drain-cost: tickd-bench failed" >&2; cat "$run/bench.txt" >&2;
	    exit 1; }
	stop_tickd
	ir=$(sed -n 's/^summary: *//p' "$run/cg.out")
	if [ -z "$base" ] || [ -z "$ir" ]; then
		echo "drain-cost: no count for $build" >&2
		exit 1
	fi
	echo "$build: $((ir - base)) instructions beyond starting and" \
	    "stopping ($base), $msgs messages replayed," \
	    "$(((ir - base) / msgs)) per message"
done
