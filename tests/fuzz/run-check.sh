#!/bin/sh
# run-check.sh: make check's run of the libFuzzer targets: each one for
# FUZZ_CHECK_SECONDS (default 20) over its corpus in tests/fuzz/corpus, with
# the ASan and UBSan it was built with.  Skipped when "make fuzz" has not
# built them.  A crash, leak, timeout or sanitizer report fails its test,
# and the input that caused it is kept as
# $TOP_BUILDDIR/tests/fuzz/findings/TARGET/crash-*.

TARGETS="fuzz-http fuzz-conf fuzz-ws fuzz-json fuzz-resp fuzz-proxy"
seconds=${FUZZ_CHECK_SECONDS:-20}
ubsan=halt_on_error=1:print_stacktrace=1
src=${TOP_SRCDIR:?}/tests/fuzz
bin=${TOP_BUILDDIR:?}/tests/fuzz

missing=
for t in $TARGETS; do
	[ -x "$bin/$t" ] || missing="$missing $t"
done
if [ -n "$missing" ]; then
	echo "1..0 # SKIP not built:$missing (configure with CC=clang," \
	    "then make fuzz)"
	exit 77
fi

set -- $TARGETS
echo "1..$#"
n=0
status=0
for t in $TARGETS; do
	n=$((n + 1))
	work=$(mktemp -d "${TMPDIR:-/tmp}/tickd-$t.XXXXXX") || exit 99
	findings=$bin/findings/$t
	mkdir -p "$findings"
	# The corpus is read, never written: new inputs go to $work.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" \
	UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}$ubsan" \
	    timeout --kill-after=10 $((seconds + 60)) \
	    "$bin/$t" -max_total_time="$seconds" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$findings/" "$work" "$src/corpus/$t" \
	    >"$work/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $t: ${runs:-?} runs in ${seconds} s, no finding"
	else
		echo "not ok $n - $t: exit status $rc after ${runs:-?} runs"
		tail -n 60 "$work/log" | sed 's/^/# /'
		ls "$findings" | sed 's/^/# finding: /'
		status=1
	fi
	rm -rf "$work"
done
exit "$status"
