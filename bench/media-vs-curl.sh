#!/bin/sh
# media-vs-curl.sh: tickd's media throughput beside curl's on the same box.
#
# Starts tickd on a temporary directory inside the build tree (so on the
# disk the build is on), runs "tickd-bench media" against it (count
# concurrent uploads of size MiB, then their downloads, with tickd's VmRSS
# before and at its peak), then measures the reference: curl fetching the
# same count of files of the same size at once over loopback from tickd's
# web_root (served with sendfile, as media downloads are), written to files
# on the same disk and fsync'd, and again to /dev/null.  An upload costs
# tickd a read from the socket, a SHA-256, a write, an fsync, a rename and
# a commit; the curl run costs a read from the socket, a write and an
# fsync.  Prints one table: figure, tickd, curl, ratio (tickd / curl).
#
# usage: bench/media-vs-curl.sh [-b builddir] [-c count] [-S MiB]
#   -b  build tree holding tickd and bench/tickd-bench (default: .)
#   -c  concurrent transfers (default 100)
#   -S  size of each, in MiB (default 16)
#
# Benchmarks are noisy on a shared machine: quote the ratios of one run.

set -u

usage() {
	echo "usage: media-vs-curl.sh [-b builddir] [-c count] [-S MiB]" >&2
	exit 2
}

build=.
count=100
mib=16
while getopts b:c:S: opt; do
	case $opt in
	b)	build=$OPTARG ;;
	c)	count=$OPTARG ;;
	S)	mib=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
command -v curl >/dev/null || { echo "media-vs-curl: no curl" >&2; exit 1; }

build=$(cd "$build" && pwd) || exit 1
for p in tickd bench/tickd-bench; do
	[ -x "$build/$p" ] || { echo "media-vs-curl: $build/$p not found:" \
	    "build with make first" >&2; exit 1; }
done
tmp=$(mktemp -d "$build/media-vs-curl.XXXXXX") || exit 1
pid=

die() {
	echo "media-vs-curl: $*" >&2
	exit 1
}
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$((20000 + $$ % 20000))
mkdir "$tmp/data" "$tmp/www" "$tmp/ref"
head -c $((mib * 1048576)) /dev/urandom >"$tmp/www/blob" ||
    die "cannot write $tmp/www/blob"
cat >"$tmp/tickd.conf" <<EOF
listen_plain 127.0.0.1:$port
data_dir $tmp/data
registration open
max_connections_per_ip $((count * 2 + 10))
max_media_bytes $((mib + 1))m
media_quota $((count * mib * 2 + 64))m
media_rate 0
media_min_free 0
web_root $tmp/www
EOF
"$build/tickd" -t -c "$tmp/tickd.conf" 2>/dev/null || die "tickd -t refused the" \
    "configuration"
"$build/tickd" -f -c "$tmp/tickd.conf" >"$tmp/tickd.log" 2>&1 &
pid=$!
n=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
	n=$((n + 1))
	[ $n -lt 500 ] || die "tickd did not start: $(tail -n 5 "$tmp/tickd.log")"
	sleep 0.02
done

echo "tickd-bench media: $count uploads of $mib MiB at once" >&2
"$build/bench/tickd-bench" -q -a "127.0.0.1:$port" -P "$pid" \
    -o "$tmp/media.json" media -c "$count" -S "${mib}m" >"$tmp/media.txt" ||
    die "tickd-bench media failed: $(cat "$tmp/media.txt")"

# seconds CMD...: runs CMD, prints its wall time in seconds.
seconds() {
	t0=$(date +%s.%N)
	"$@" || die "$1 failed: $(cat "$tmp/curl.err" 2>/dev/null)"
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.6f", $2 - $1 }'
}
fetch() {
	i=0
	while [ $i -lt "$count" ]; do
		printf 'url = "http://127.0.0.1:%s/blob"\noutput = "%s"\n' \
		    "$port" "$1/$i"
		i=$((i + 1))
	done >"$tmp/curl.cfg"
	curl -sSf --parallel --parallel-max "$count" -K "$tmp/curl.cfg" \
	    2>"$tmp/curl.err"
}
to_disk() {
	fetch "$tmp/ref" && sync "$tmp"/ref/*
}
to_null() {
	i=0
	while [ $i -lt "$count" ]; do
		printf 'url = "http://127.0.0.1:%s/blob"\noutput = "/dev/null"\n' \
		    "$port"
		i=$((i + 1))
	done >"$tmp/curl.cfg"
	curl -sSf --parallel --parallel-max "$count" -K "$tmp/curl.cfg" \
	    2>"$tmp/curl.err"
}
echo "curl: $count fetches of $mib MiB at once, to files and to /dev/null" >&2
up=$(seconds to_disk)
down=$(seconds to_null)

/usr/bin/python3 - "$tmp/media.json" "$count" "$mib" "$up" "$down" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["figures"]
count, mib = int(sys.argv[2]), int(sys.argv[3])
mb = count * mib * 1048576 / 1e6
curl_up, curl_down = mb / float(sys.argv[4]), mb / float(sys.argv[5])
up, down = r["upload_mb_per_s"], r["download_mb_per_s"]
print("%-34s %10s %10s %6s" % ("figure", "tickd", "curl", "ratio"))
print("%-34s %10.0f %10.0f %6.2f" % ("upload MB/s (to disk, fsync'd)",
    up, curl_up, up / curl_up))
print("%-34s %10.0f %10.0f %6.2f" % ("download MB/s", down, curl_down,
    down / curl_down))
print("%-34s %10.1f" % ("tickd VmRSS before, MiB",
    r["server_rss_before_mib"]))
print("%-34s %10.1f" % ("tickd VmRSS peak in uploads, MiB",
    r["server_rss_peak_mib"]))
print("uploads %d/%d, downloads %d/%d" % (r["uploads_ok"], count,
    r["downloads_ok"], count))
EOF
