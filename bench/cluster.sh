#!/bin/sh
# cluster.sh: tickd on several nodes against one Redis (tickd-cluster(7)),
# beside one node alone, in one run.
#
# Starts a redis-server of its own (no persistence) and runs tickd-bench
# throughput three times for the same load: against one tickd without
# cluster_redis, then against 2 and 3 nodes sharing that Redis, with each
# pair's sender homed on one node and its receiver on the next, so that
# every message, its receipts and the acks' confirmations cross nodes.
# It prints one table: nodes, messages sent/s (durable), delivered/s,
# receipts/s, send->msg p50 and p99, and the Redis commands per message
# delivered (from INFO stats' total_commands_processed, heartbeats and
# presence included) and the CPU seconds redis-server used in the run.  The single node's rates are the reference: the
# ratio column is a cluster's delivered/s over that.
#
# usage: bench/cluster.sh [-b builddir] [-B batch] [-d secs] [-p pairs]
#                         [-w window]
#   -b  build tree holding tickd and bench/tickd-bench (default: .)
#   -B  the nodes' cluster_batch (default: tickd's, 256)
#   -d  seconds measured per run (default 10, after 2 of warm-up)
#   -p  pairs of sender and receiver (default 16)
#   -w  sends in flight per sender (default 64)
#
# Benchmarks are noisy on a shared machine: quote the ratios of one run.

set -u

build=.
batch=
dur=10
pairs=16
window=64
while getopts b:B:d:p:w: opt; do
	case $opt in
	b)	build=$OPTARG ;;
	B)	batch=$OPTARG ;;
	d)	dur=$OPTARG ;;
	p)	pairs=$OPTARG ;;
	w)	window=$OPTARG ;;
	*)	echo "usage: cluster.sh [-b builddir] [-B batch] [-d secs]" \
		    "[-p pairs] [-w window]" >&2
		exit 2 ;;
	esac
done
bench=$build/bench/tickd-bench
for f in "$build/tickd" "$bench"; do
	[ -x "$f" ] || { echo "cluster.sh: $f is not built" >&2; exit 1; }
done
command -v redis-server >/dev/null 2>&1 ||
    { echo "cluster.sh: redis-server is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tickd-cluster-bench.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() {
	echo "cluster.sh: $*" >&2
}

die() {
	say "$*"
	exit 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
rpid=$!
pids="$pids $rpid"
n=0
until redis-cli -p "$rport" ping >/dev/null 2>&1; do
	n=$((n + 1))
	[ $n -lt 200 ] || die "redis-server did not start"
	sleep 0.05
done
load=$(cut -d ' ' -f 1-3 /proc/loadavg)

# redis-server's CPU time so far, in clock ticks (utime + stime).
redis_ticks() {
	awk '{ print $14 + $15 }' "/proc/$rpid/stat"
}

# Starts node $2 of run $1 ("-" for no cluster); prints its -a.
start_node() {
	dir=$tmp/$1-$2
	mkdir -p "$dir"
	port=$(free_port)
	{
		echo "listen 127.0.0.1:$port"
		echo "data_dir $dir/data"
		echo "pidfile $dir/tickd.pid"
		echo "control_socket $dir/ctl.sock"
		echo "registration open"
		echo "log_level warn"
		echo "send_rate 0"
		echo "login_rate 0"
		echo "max_queue 2000000"
		if [ "$1" != 1 ]; then
			echo "cluster_redis redis://127.0.0.1:$rport"
			echo "cluster_prefix b$1:"
			echo "node_name n$2"
			echo "cluster_url http://127.0.0.1:$port"
			[ -z "$batch" ] || echo "cluster_batch $batch"
		fi
	} >"$dir/tickd.conf"
	"$build/tickd" -f -c "$dir/tickd.conf" >"$dir/tickd.log" 2>&1 &
	echo $! >"$dir/run"
	n=0
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 500 ] || die "tickd n$2 did not start: $(tail -n 5 \
		    "$dir/tickd.log")"
		sleep 0.02
	done
	echo "127.0.0.1:$port"
}

# One run against $1 nodes: its JSON in $tmp/run-$1.json and the Redis
# commands it cost in $tmp/run-$1.cmds.
run() {
	addrs=
	i=1
	while [ "$i" -le "$1" ]; do
		addrs="$addrs -a $(start_node "$1" "$i")" || exit 1
		pids="$pids $(cat "$tmp/$1-$i/run")"
		i=$((i + 1))
	done
	say "$1 node(s): $pairs pairs, window $window, ${dur}s"
	c0=$(redis-cli -p "$rport" info stats |
	    sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
	t0=$(redis_ticks)
	# shellcheck disable=SC2086
	"$bench" -q $addrs -o "$tmp/run-$1.json" -p "$pairs" -w "$window" \
	    -d "$dur" -W 2 throughput >"$tmp/run-$1.txt" ||
	    die "tickd-bench against $1 node(s) failed: $(cat \
	    "$tmp/run-$1.txt")"
	c1=$(redis-cli -p "$rport" info stats |
	    sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
	echo $((c1 - c0)) $(($(redis_ticks) - t0)) $(getconf CLK_TCK) \
	    >"$tmp/run-$1.cmds"
	# The nodes are not this shell's children: wait until they are gone.
	i=1
	while [ "$i" -le "$1" ]; do
		p=$(cat "$tmp/$1-$i/run")
		kill "$p" 2>/dev/null
		while kill -0 "$p" 2>/dev/null; do
			sleep 0.05
		done
		i=$((i + 1))
	done
}

run 1
run 2
run 3

python3 - "$tmp" "$load" <<'EOF'
import json
import sys

tmp, load = sys.argv[1], sys.argv[2]


def figs(n):
    with open(f"{tmp}/run-{n}.json") as f:
        r = json.load(f)["figures"]
    with open(f"{tmp}/run-{n}.cmds") as f:
        cmds, ticks, hz = (int(x) for x in f.read().split())
    r["cmds"], r["redis_cpu_s"] = cmds, ticks / hz
    return r


one = figs(1)
print(f"{'nodes':>5} {'sent/s':>10} {'delivered/s':>12} {'receipts/s':>11}"
      f" {'p50 ms':>8} {'p99 ms':>8} {'cmds/msg':>9} {'redis s':>8}"
      f" {'vs 1':>6}")
for n in (1, 2, 3):
    r = figs(n)
    d = r.get("delivered_per_s", 0)
    secs = r.get("seconds", 0)
    # The commands of the whole run (setup and warm-up too) over the
    # messages delivered in the measured window: an upper bound.
    per = r["cmds"] / (d * secs) if d and secs and n > 1 else 0
    print(f"{n:>5} {r.get('sent_per_s', 0):>10,.0f} {d:>12,.0f}"
          f" {r.get('receipts_per_s', 0):>11,.0f}"
          f" {r.get('send_to_msg_p50_us', 0) / 1e3:>8.2f}"
          f" {r.get('send_to_msg_p99_us', 0) / 1e3:>8.2f}"
          f" {per:>9.2f} {r['redis_cpu_s']:>8.2f}"
          f" {d / one['delivered_per_s']:>6.2f}")
print(f"load average before the run: {load}")
EOF
