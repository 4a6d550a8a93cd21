#!/bin/sh
# sync-ab.sh: tickd with sync_thread yes and no (tickd(8) COMMITS), one
# after the other, ROUNDS times, under one tickd-bench mode; prints one
# line of figures a run.  Run from the top of a built tree:
#
#   sh bench/sync-ab.sh [-r rounds] [-d secs] [-s slowsync.so] [mode args]
#
# mode args default to "throughput -p 16 -w 128"; for example
# "latency -r 10000 -p 16".  With -s, tickd runs with that library
# preloaded (bench/slowsync.c: every sync made slower by $SLOW_US).

rounds=3 dur=5 preload=
while getopts r:d:s: o; do
	case $o in
	r)	rounds=$OPTARG ;;
	d)	dur=$OPTARG ;;
	s)	preload=$OPTARG ;;
	*)	exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- throughput -p 16 -w 128
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sync-ab.XXXXXX") || exit 1
trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./bench/tickd-bench seed -D "$tmp/data" -M 4g -u t -n 32 -T "$tmp/t.tok" \
    >/dev/null || exit 1
r=1
while [ $r -le "$rounds" ]; do
	for st in yes no; do
		cat >"$tmp/c.conf" <<C
listen 127.0.0.1:$port
data_dir $tmp/data
map_size 4g
max_queue 2000000
log_level warn
send_rate 0
login_rate 0
max_user_bytes 0
control_socket $tmp/ctl.sock
pidfile $tmp/pid
sync_thread $st
C
		rm -f "$tmp/o.json"
		LD_PRELOAD=$preload ./tickd -f -c "$tmp/c.conf" \
		    >>"$tmp/log" 2>&1 &
		pid=$!
		until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null
		do
			sleep 0.05
		done
		./bench/tickd-bench -q -o "$tmp/o.json" -a "127.0.0.1:$port" \
		    -P "$pid" -T "$tmp/t.tok" "$@" -d "$dur" -W 1 \
		    >/dev/null 2>&1
		printf 'round %s sync_thread=%s ' "$r" "$st"
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))["figures"]
print(" ".join(f"{k}={d[k]:.0f}" for k in ("delivered_per_s",
    "commits_per_s", "server_cpu_pct", "send_to_sent_p50_us",
    "send_to_sent_p99_us", "send_to_msg_p99_us") if k in d))' \
		    "$tmp/o.json" || echo "(no figures)"
		kill "$pid"
		wait "$pid"
	done
	r=$((r + 1))
done
