#!/bin/sh
# resp-vs-redis.sh: the same redis-benchmark stream workloads against
# tickd's RESP shim and against a real redis-server with appendonly yes
# and appendfsync always (both durable before they answer), started by this
# script on the same disk, in one run.
#
# Workloads, each with 50 clients, without and with -P 16:
#   XADD        XADD bench:x * f v
#   XREADGROUP  XREADGROUP GROUP g c COUNT 1 STREAMS bench:g > on a stream
#               filled beforehand, so that each read delivers an entry
#               and makes it pending
#   XACK        XACK bench:g g 1-<random>, acking those entries
#
# Prints one line per workload: mode, figure, tickd, redis, tickd/redis,
# tab-separated (bench/run-all.sh reads them), then the machine.
#
# usage: resp-vs-redis.sh [-q] [-n requests] [-d dir]
#   -q  quick: 2000 requests a run, to try the script itself
#   -n  requests per run (default 20000; 8 times that with -P 16)
#   -d  where the two data directories go (default: the current
#       directory; not a tmpfs, or fsync costs nothing)
# Environment: TICKD (default ./tickd), REDIS_SERVER, REDIS_BENCHMARK,
# REDIS_CLI (default: on PATH).

set -u

usage() {
	echo "usage: resp-vs-redis.sh [-q] [-n requests] [-d dir]" >&2
	exit 2
}

n=20000
dir=.
while getopts qn:d: opt; do
	case $opt in
	q)	n=2000 ;;
	n)	n=$OPTARG ;;
	d)	dir=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

TICKD=${TICKD:-./tickd}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server)}
REDIS_BENCHMARK=${REDIS_BENCHMARK:-$(command -v redis-benchmark)}
REDIS_CLI=${REDIS_CLI:-$(command -v redis-cli)}
for p in "$TICKD" "$REDIS_SERVER" "$REDIS_BENCHMARK" "$REDIS_CLI"; do
	if [ ! -x "$p" ]; then
		echo "resp-vs-redis: ${p:-a redis tool} is not executable" \
		    "(TICKD, REDIS_SERVER, REDIS_BENCHMARK, REDIS_CLI)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "$dir/resp-bench.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd)
tickd_pid=
redis_pid=

cleanup() {
	[ -n "$tickd_pid" ] && kill "$tickd_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A free loopback port, from the kernel.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for a RESP server on port $1 to answer PING.
wait_ping() {
	i=0
	while [ $i -lt 100 ]; do
		if [ "$("$REDIS_CLI" -p "$1" PING 2>/dev/null)" = PONG ]; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "resp-vs-redis: nothing answers on port $1" >&2
	exit 1
}

tport=$(free_port)
rport=$(free_port)
hport=$(free_port)
mkdir -p "$tmp/tickd" "$tmp/redis"
cat >"$tmp/tickd.conf" <<EOF
listen 127.0.0.1:$hport
data_dir $tmp/tickd
pidfile $tmp/tickd.pid
control_socket $tmp/tickd.sock
resp_listen 127.0.0.1:$tport
log_level warn
EOF
"$TICKD" -f -c "$tmp/tickd.conf" >"$tmp/tickd.log" 2>&1 &
tickd_pid=$!
"$REDIS_SERVER" --port "$rport" --bind 127.0.0.1 --dir "$tmp/redis" \
    --appendonly yes --appendfsync always --save "" --databases 1 \
    --logfile "$tmp/redis.log" --daemonize no &
redis_pid=$!
wait_ping "$tport"
wait_ping "$rport"

# Requests per second of one redis-benchmark run: port, requests, pipeline,
# then the command.
rps() {
	port=$1 count=$2 pipe=$3
	shift 3
	"$REDIS_BENCHMARK" -p "$port" -c 50 -n "$count" -P "$pipe" \
	    -r "$count" --csv "$@" 2>/dev/null | tail -n 1 |
	    cut -d, -f2 | tr -d '"'
}

# Fills stream bench:g with entries 1-0 .. 1-(count-1) and creates group g
# at its start, on port $1.
fill() {
	i=0
	"$REDIS_CLI" -p "$1" DEL bench:g >/dev/null
	while [ $i -lt "$2" ]; do
		echo "XADD bench:g 1-$i f v"
		i=$((i + 1))
	done | "$REDIS_CLI" -p "$1" --pipe >/dev/null
	"$REDIS_CLI" -p "$1" XGROUP CREATE bench:g g 0 >/dev/null
}

# One row: mode, then what to run (without the port).
row() {
	mode=$1 count=$2 pipe=$3
	shift 3
	if [ "$1" = XREADGROUP ]; then
		fill "$tport" "$count"
		fill "$rport" "$count"
	fi
	t=$(rps "$tport" "$count" "$pipe" "$@")
	r=$(rps "$rport" "$count" "$pipe" "$@")
	awk -v m="$mode" -v p="$pipe" -v t="$t" -v r="$r" 'BEGIN {
		f = p > 1 ? "ops/s, 50 clients, -P " p : "ops/s, 50 clients"
		printf "%s\t%s\t%.0f\t%.0f\t%.2f\n", m, f, t, r,
		    (r > 0 ? t / r : 0)
	}'
}

for pipe in 1 16; do
	count=$n
	[ "$pipe" -gt 1 ] && count=$((n * 8))
	suffix=
	[ "$pipe" -gt 1 ] && suffix=" -P 16"
	row "resp XADD$suffix" "$count" "$pipe" XADD bench:x '*' f v
	row "resp XREADGROUP$suffix" "$count" "$pipe" XREADGROUP GROUP g c \
	    COUNT 1 STREAMS bench:g '>'
	row "resp XACK$suffix" "$count" "$pipe" XACK bench:g g 1-__rand_int__
done
echo "machine: $(uname -sr), $(nproc) CPUs," \
    "$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)," \
    "data on $(df -P "$tmp" | awk 'NR == 2 { print $1 }')"
