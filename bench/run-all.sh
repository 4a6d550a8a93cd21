#!/bin/sh
# run-all.sh: tickd's published figures in one command.
#
# Starts tickd on a temporary data_dir and wslay-echo beside it, measures
# the data disk (fsync-rate), runs every tickd-bench mode against tickd and
# the same load against wslay-echo, runs the RESP comparison when
# bench/resp-vs-redis.sh exists, and prints one table: mode,
# figure, tickd, reference, ratio.  For the WebSocket rows the reference is
# the ceiling of this machine measured in this run: durable commits per
# second of the data disk, and wslay-echo pushing the same frames over the
# same number of connections.  For the RESP rows it is a real redis-server
# with appendfsync always.  The ratio says how close tickd comes to the
# reference: tickd / reference for rates, reference / tickd for times and
# bytes, so 1.00 is the ceiling either way.  The last line is the machine
# the figures come from.
#
# The group rows (tickd-bench group: G groups of M members, M = 8, 256
# and 1024) have tickd's own 1:1 throughput of the same run as reference:
# fan-out items delivered/s over 1:1 messages delivered/s.
#
# usage: bench/run-all.sh [-cgq] [-b builddir] [-o outdir]
#   -c  connections: only the two idle-connection runs (tickd and
#       wslay-echo), for the memory rows
#   -g  groups: only the disk, the 1:1 throughput and the group runs, each
#       7 s (2 s warm-up), for the group rows beside the 1:1 figure
#   -q  quick: short runs and small counts, to try the script itself
#   -b  build tree holding tickd, bench/tickd-bench and bench/wslay-echo
#       (default: .)
#   -o  keep each run's JSON and text there, and the table in table.txt
#       (default: a temporary directory, removed at the end)
#
# References: wslay-echo's delivered/s for the rates of throughput and
# drain (one pair for the replay), its latencies and RSS for those rows;
# the disk's one-page write + fdatasync rate for durable commits/s, and its
# p50 and p99 for send->sent.
#
# The RESP script is run with TICKD, TICKD_BUILD and REDIS_SERVER set; rows
# it prints as "mode<TAB>figure<TAB>tickd<TAB>reference" join the table,
# anything else it prints is shown after it.
#
# Benchmarks are noisy on a shared machine: quote the ratios of one run.

set -u

usage() {
	echo "usage: run-all.sh [-cgq] [-b builddir] [-o outdir]" >&2
	exit 2
}

quick=0
groups=0
conly=0
build=.
keep=
while getopts cgqb:o: opt; do
	case $opt in
	c)	conly=1 ;;
	g)	groups=1 ;;
	q)	quick=1 ;;
	b)	build=$OPTARG ;;
	o)	keep=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd) || exit 1
for p in tickd bench/tickd-bench bench/wslay-echo; do
	if [ ! -x "$build/$p" ]; then
		echo "run-all: $build/$p not found: build with make first," \
		    "or name the build tree with -b" >&2
		exit 1
	fi
done
bench=$build/bench/tickd-bench

if [ "$quick" -eq 1 ]; then
	conns=500 pairs=8 window=128 dur=2 warm=0.5 latdur=2
	rates="1000 10000" queued=20000
else
	conns=15000 pairs=16 window=128 dur=10 warm=2 latdur=5
	rates="1000 10000 50000" queued=1000000
fi
# Group runs: "members groups senders window" each; one connected device
# per member, so 1,024 connections for the largest.
gruns="8 16 2 16
256 2 2 8
1024 1 2 4"
if [ "$groups" -eq 1 ]; then
	dur=5 warm=2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tickd-bench.XXXXXX") || exit 1
out=${keep:-$tmp/out}
mkdir -p "$out" || exit 1
data=$tmp/data

# Every daemon started here is stopped on every way out, by its pid.
cleanup() {
	for f in "$tmp/tickd.run" "$tmp/echo.run"; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 500 ]; do
			sleep 0.02
			n=$((n + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() {
	echo "run-all: $*" >&2
}

die() {
	say "$*"
	exit 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Idle connections need descriptors in tickd and in tickd-bench.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] &&
    [ "$(ulimit -n)" -lt $((conns + 256)) ]; then
	conns=$(($(ulimit -n) - 256))
	say "the open file limit is $(ulimit -n): $conns connections"
fi

port=$(free_port)
eport=$(free_port)
# Other work on the machine skews every figure: say how busy it was.
load=$(cut -d ' ' -f 1-3 /proc/loadavg)

# The keys that lift tickd's abuse limits, and keep its sockets in the
# temporary directory, where this tickd has them.
{
	echo "listen 127.0.0.1:$port"
	echo "data_dir $data"
	echo "pidfile $tmp/tickd.pid"
	echo "map_size 16g"
	echo "max_queue 2000000"
	echo "log_level warn"
	for kv in "send_rate 0" "login_rate 0" "max_connections 1000000" \
	    "max_connections_per_ip 1000000" "max_user_bytes 0" \
	    "control_socket $tmp/ctl.sock"; do
		if grep -Eq "^#?${kv%% *}( |\$)" "$src/conf/tickd.conf"; then
			echo "$kv"
		fi
	done
} >"$tmp/tickd.conf"
"$build/tickd" -t -c "$tmp/tickd.conf" || die "tickd -t refused the" \
    "benchmark configuration"

# Accounts are written into the store before tickd starts: a login over
# HTTP costs one scrypt each.
seed() {
	"$bench" seed -D "$data" -M 16g -u "$1" -n "$2" -T "$tmp/$1.tok" \
	    >/dev/null || die "seeding $2 accounts failed"
}
if [ "$conly" -eq 1 ]; then
	seed c "$conns"
else
seed t $((2 * pairs))
while read -r m g ns w; do
	seed "g$m-" $((m * g))
done <<EOF
$gruns
EOF
fi
if [ "$groups" -eq 0 ] && [ "$conly" -eq 0 ]; then
	seed c "$conns"
	for r in $rates; do
		seed "l$r-" $((2 * pairs))
	done
	seed d 2
fi

# Commits of one page, and of 16 scattered pages as a B-tree commit writes.
if [ "$conly" -eq 0 ]; then
say "measuring the data disk"
"$bench" -q -o "$out/fsync.json" -D "$tmp" -d 3 fsync >"$out/fsync.txt" &&
    "$bench" -q -o "$out/fsync16.json" -D "$tmp" -d 3 -n 16 fsync \
    >"$out/fsync16.txt" || die "measuring the disk failed"
fi

start_tickd() {
	"$build/tickd" -f -c "$tmp/tickd.conf" >>"$tmp/tickd.log" 2>&1 &
	echo $! >"$tmp/tickd.run"
	wait_healthz
}

wait_healthz() {
	n=0
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 500 ] || die "tickd did not start: $(tail -n 5 \
		    "$tmp/tickd.log")"
		sleep 0.02
	done
}
start_tickd
"$build/bench/wslay-echo" -a "127.0.0.1:$eport" >>"$tmp/echo.log" 2>&1 &
echo $! >"$tmp/echo.run"
sleep 0.2

# The restart the drain run makes between filling and draining: stop
# tickd, start it again, and return at once; tickd-bench times the rest.
cat >"$tmp/restart.sh" <<EOF
#!/bin/sh
pid=\$(cat "$tmp/tickd.run")
kill -TERM "\$pid"
n=0
while kill -0 "\$pid" 2>/dev/null; do
	n=\$((n + 1))
	[ \$n -lt 6000 ] || { kill -KILL "\$pid"; exit 1; }
	sleep 0.01
done
"$build/tickd" -f -c "$tmp/tickd.conf" >>"$tmp/tickd.log" 2>&1 &
echo \$! >"$tmp/tickd.run"
EOF
chmod +x "$tmp/restart.sh"

# run NAME TARGET ARGS...: one tickd-bench run, its figures in NAME.json.
run() {
	name=$1 target=$2
	shift 2
	say "$name"
	if [ "$target" = echo ]; then
		set -- -e -a "127.0.0.1:$eport" -P "$(cat "$tmp/echo.run")" "$@"
	else
		set -- -a "127.0.0.1:$port" -P "$(cat "$tmp/tickd.run")" "$@"
	fi
	"$bench" -q -o "$out/$name.json" "$@" >"$out/$name.txt" 2>&1 ||
	    die "$name failed: $(tail -n 5 "$out/$name.txt")"
}

if [ "$conly" -eq 1 ]; then
	run connections tickd -T "$tmp/c.tok" -c "$conns" -d 2 connections
	run connections-echo echo -c "$conns" -d 2 connections
fi
[ "$conly" -eq 1 ] || {
run throughput tickd -T "$tmp/t.tok" -p "$pairs" -w "$window" \
    -d "$dur" -W "$warm" throughput
# A here-document, not a pipe: run must be able to stop this shell.
while read -r m g ns w; do
	run "group-$m" tickd -T "$tmp/g$m-.tok" -g "$g" -k "$m" -s "$ns" \
	    -w "$w" -d "$dur" -W "$warm" group
done <<EOF
$gruns
EOF
}
[ "$groups" -eq 1 ] || [ "$conly" -eq 1 ] || {
run throughput-echo echo -p "$pairs" -w "$window" -d "$dur" -W "$warm" \
    throughput
for r in $rates; do
	run "latency-$r" tickd -T "$tmp/l$r-.tok" -p "$pairs" -r "$r" \
	    -d "$latdur" -W "$warm" latency
	run "latency-$r-echo" echo -p "$pairs" -r "$r" -d "$latdur" \
	    -W "$warm" latency
done
# A tickd started afresh: the heap malloc kept from the loads before
# would hold the new connections and hide their cost.
"$tmp/restart.sh" || die "tickd did not stop for the connections run"
wait_healthz
run connections tickd -T "$tmp/c.tok" -c "$conns" -d 2 connections
run connections-echo echo -c "$conns" -d 2 connections
# One device replaying its queue: the ceiling is one pair on wslay-echo.
run drain-echo echo -p 1 -w 256 -d "$dur" -W "$warm" throughput
run drain tickd -T "$tmp/d.tok" -m "$queued" -w 1024 \
    -x "$tmp/restart.sh" drain
}

resp=
if [ "$groups" -eq 0 ] && [ "$conly" -eq 0 ] &&
    [ -x "$src/bench/resp-vs-redis.sh" ]; then
	say "resp-vs-redis.sh"
	rq=
	[ "$quick" -eq 0 ] || rq=-q
	# shellcheck disable=SC2086
	TICKD=$build/tickd TICKD_BUILD=$build \
	    REDIS_SERVER=$(command -v redis-server) \
	    "$src/bench/resp-vs-redis.sh" $rq -d "$tmp" \
	    >"$out/resp.txt" 2>"$out/resp.err" ||
	    say "resp-vs-redis.sh failed: $(tail -n 3 "$out/resp.err")"
	resp=$out/resp.txt
fi

python3 - "$out" "$queued" "$conns" "$rates" "$resp" "$load" "$groups" \
    "$gruns" "$conly" <<'EOF' | tee "$out/table.txt"
import json, os, platform, re, sys

out, queued, conns, rates, resp, loadavg, groups, gruns, conly = \
    sys.argv[1:10]
rows = []


def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.load(f)["figures"]
    except (OSError, ValueError, KeyError):
        return {}


def get(figs, key, scale=1.0):
    v = figs.get(key)
    return None if v is None else v * scale


def row(mode, figure, t, r, lower=False, fmt="{:,.0f}"):
    """lower: the figure is a cost (time, bytes), so the ratio is
    reference / tickd; for rates it is tickd / reference."""
    ratio = "-"
    if t and r:
        ratio = f"{(r / t if lower else t / r):.2f}"
    show = lambda v: "-" if v is None else fmt.format(v)
    rows.append((mode, figure, show(t), show(r), ratio))


ms = "{:,.2f}"
disk, disk16 = load("fsync"), load("fsync16")
tp, te = load("throughput"), load("throughput-echo")
row("throughput", "sent/s (durable)", get(tp, "sent_per_s"),
    get(te, "delivered_per_s"))
row("throughput", "delivered/s", get(tp, "delivered_per_s"),
    get(te, "delivered_per_s"))
row("throughput", "acked/s", get(tp, "acked_per_s"),
    get(te, "delivered_per_s"))
row("throughput", "receipts/s", get(tp, "receipts_per_s"),
    get(te, "receipts_per_s"))
row("throughput", "durable commits/s",
    get(tp, "commits_per_s"), get(disk, "fdatasync_per_s"))
row("throughput", "messages per commit", get(tp, "sent_per_commit"), None)
row("throughput", "% of time committing",
    get(tp, "commit_wall_pct"), None)
row("throughput", "server CPU %", get(tp, "server_cpu_pct"),
    get(te, "server_cpu_pct"), True)
one = get(tp, "delivered_per_s")
for line in gruns.splitlines():
    m, g, ns, w = (int(x) for x in line.split())
    gr = load(f"group-{m}")
    mode = f"group {g}x{m}"
    row(mode, "group sends/s (durable)", get(gr, "sent_per_s"), None)
    row(mode, "fan-out items/s vs 1:1", get(gr, "delivered_per_s"), one)
    row(mode, "send->sent p50 ms", get(gr, "send_to_sent_p50_us", 1e-3),
        None, True, ms)
    row(mode, "send->sent p99 ms", get(gr, "send_to_sent_p99_us", 1e-3),
        None, True, ms)
    row(mode, "send->last msg p50 ms",
        get(gr, "send_to_last_msg_p50_us", 1e-3), None, True, ms)
    row(mode, "send->last msg p99 ms",
        get(gr, "send_to_last_msg_p99_us", 1e-3), None, True, ms)
    row(mode, "server CPU %", get(gr, "server_cpu_pct"), None, True)
for r in ("" if groups == "1" else rates).split():
    lt, le = load(f"latency-{r}"), load(f"latency-{r}-echo")
    mode = f"latency {int(r) // 1000}k/s"
    row(mode, "send->sent p50 ms",
        get(lt, "send_to_sent_p50_us", 1e-3),
        get(disk, "fdatasync_p50_us", 1e-3), True, ms)
    row(mode, "send->sent p99 ms",
        get(lt, "send_to_sent_p99_us", 1e-3),
        get(disk, "fdatasync_p99_us", 1e-3), True, ms)
    for q in ("p50", "p90", "p99", "p999", "max"):
        row(mode, f"send->msg {q.replace('p999', 'p99.9')} ms",
            get(lt, f"send_to_msg_{q}_us", 1e-3),
            get(le, f"send_to_msg_{q}_us", 1e-3), True, ms)
if groups != "1":
    ct, ce = load("connections"), load("connections-echo")
    row(f"connections {int(conns):,}", "RSS bytes/idle conn",
        get(ct, "server_rss_per_conn_bytes"),
        get(ce, "server_rss_per_conn_bytes"), True)
    row(f"connections {int(conns):,}", "of which heap",
        get(ct, "server_anon_per_conn_bytes"),
        get(ce, "server_anon_per_conn_bytes"), True)
    dr, de = load("drain"), load("drain-echo")
    mode = f"drain {int(queued):,}"
    row(mode, "queued/s, offline", get(dr, "queued_per_s"),
        get(te, "delivered_per_s"))
    row(mode, "restart to serving ms", get(dr, "command_to_ready_ms"), None,
        True, ms)
    row(mode, "replayed/s to last ack", get(dr, "drained_per_s"),
        get(de, "delivered_per_s"))

notes = []
if resp:
    with open(resp, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            try:
                if len(parts) in (4, 5):
                    row(parts[0], parts[1], float(parts[2]),
                        float(parts[3]))
                    continue
            except ValueError:
                pass
            notes.append(line.rstrip("\n"))

if conly == "1":
    rows = [r for r in rows if r[0].startswith("connections")]
head = ("mode", "figure", "tickd", "reference", "ratio")
w = [max(len(x[i]) for x in rows + [head]) for i in range(5)]
fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w[i]}}}" for i in range(5))
print(fmt.format(*head))
print(fmt.format(*("-" * n for n in w)))
for r in rows:
    print(fmt.format(*r))
if notes:
    print()
    print("resp-vs-redis.sh:")
    for n in notes:
        print("  " + n)

model = "?"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            model = re.sub(r"\s+", " ", line.split(":", 1)[1].strip())
            break
with open("/proc/meminfo") as f:
    mem = int(f.readline().split()[1]) / 1024 / 1024
print()
disktext = "" if conly == "1" else (
    f"data disk: 4 KiB write + fdatasync "
    f"{disk.get('fdatasync_per_s', 0):,.0f}/s, "
    f"p50 {disk.get('fdatasync_p50_us', 0):,.0f} us, "
    f"p99 {disk.get('fdatasync_p99_us', 0):,.0f} us; 16 scattered pages + "
    f"fdatasync {disk16.get('fdatasync_per_s', 0):,.0f}/s, "
    f"p50 {disk16.get('fdatasync_p50_us', 0) / 1e3:,.2f} ms; ")
print(f"machine: {os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, "
    f"Linux {platform.release()}; {disktext}"
    f"load average before the run {loadavg}")
EOF
