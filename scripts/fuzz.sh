#!/bin/sh
# The long fuzz run (tests/fuzz/README.md): builds build-fuzz/ (clang-19,
# libFuzzer, ASan+UBSan) and runs both harnesses, one after the other.
#   [FUZZ_BUILD=DIR] scripts/fuzz.sh [FRAME_RUNS [REQUEST_SECONDS]]
# FRAME_RUNS inputs through the framer and the scan (default 10000000),
# then the request harness for REQUEST_SECONDS (default 3600).  New inputs
# and findings go to build-fuzz/tests/fuzz/; the committed corpus is only
# read.  FUZZ_BUILD (default build-fuzz) lets a long run keep its own
# build directory while scripts/test.sh rebuilds build-fuzz.  FUZZ_TIMEOUT
# (default 20) is the seconds one input of the request harness may take, by
# the wall clock: a run at nice 19 on a busy machine needs more (300), and
# inputs over 20 s are then reported (slow-unit files) without stopping it.
# FUZZ_JOBS=N (default 1) runs the request harness in libFuzzer's fork
# mode with N processes: each job is a fresh daemon for up to 300 s (its
# state does not accumulate beyond that), timeouts and RSS over the limit
# still stop the run; at nice 19, N=2 takes at most one more core.  Exits
# non-zero on any crash, sanitizer report, timeout or RSS over the limit;
# the last lines give executions, peak RSS and the result.
set -eu
cd "$(dirname "$0")/.."
frame_runs=${1:-10000000}
request_seconds=${2:-3600}
./scripts/setup.sh
b=${FUZZ_BUILD:-build-fuzz}
[ -d "$b" ] || CC=clang-19 meson setup "$b" -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false
ninja -C "$b" tests/fuzz/fuzz_frame tests/fuzz/fuzz_requests \
  tests/fuzz/fuzzplug.so tests/fuzz/fuzzplug_chunk.so daemon/vst/sonod-vst-scan
out=$b/tests/fuzz
export FUZZ_PLUGINS="$PWD/$out/fuzzplug.so:$PWD/$out/fuzzplug_chunk.so"
export SONOD_VST_SCAN="$PWD/$b/daemon/vst/sonod-vst-scan"
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), on $(uname -n): $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/^Mem/ {print $2}') GiB"
echo "== fuzz_frame: $frame_runs inputs"
tests/fuzz/run.sh "$out/fuzz_frame" "$out/long-frame" tests/fuzz/corpus/frame \
  -runs="$frame_runs" -rss_limit_mb=512 -max_len=4096 -print_final_stats=1 \
  2>"$out/long-frame.log"
grep -E '^(Done|stat::peak_rss_mb|stat::number_of_executed_units)' "$out/long-frame.log"
echo "== fuzz_requests: $request_seconds s"
jobs=${FUZZ_JOBS:-1}
fork=
[ "$jobs" -gt 1 ] && fork="-fork=$jobs -ignore_timeouts=0 -ignore_ooms=0"
# shellcheck disable=SC2086  # $fork is empty or several options
tests/fuzz/run.sh "$out/fuzz_requests" "$out/long-requests" tests/fuzz/corpus/requests \
  -max_total_time="$request_seconds" -rss_limit_mb=2048 -max_len=4096 $fork \
  -timeout="${FUZZ_TIMEOUT:-20}" -report_slow_units=20 -print_final_stats=1 2>"$out/long-requests.log"
grep -E '^(Done|stat::peak_rss_mb|stat::number_of_executed_units|INFO: exiting|#[0-9]+: cov)' \
  "$out/long-requests.log" | tail -n 4
echo "== no crash, no sanitizer report, RSS within the limits"
