#!/bin/sh
# bench/run.sh - one command for the benchmarks: builds what they need (in
# $BUILD, default ./build), runs bench_rtt against a private sonod on the
# null backend, then the Csound .csd comparison (bench/csound: sonod's
# offline render of xanadu.csd against `csound -o`, about 6 s per run), and
# prints a Markdown report with the machine it ran on.
#
#   bench/run.sh [bench_rtt options, e.g. --pings 50000]
#   XANADU_RUNS=7 bench/run.sh      # runs of the Csound comparison (default 3, 0 skips it)
#   bench/run.sh graph [bench_graph options]  # only bench_graph: the graph's
#                                             # cost, a 60 s session, issue 3's
#                                             # host overhead (bench/RESULTS.md)
#   bench/run.sh queue [bench_queue options]  # only bench_queue: the SPSC ring
#                                             # across two threads and the heap,
#                                             # each against a baseline (seconds)
#   bench/run.sh capture                      # only bench_capture: capture.start's
#                                             # cost to the audio thread per cycle
#   bench/run.sh control BASELINE_SONOD [bench_control options]
#                                             # only bench_control: a big graph's
#                                             # cost to the control thread (plan
#                                             # rebuilds, meters), this build's
#                                             # sonod against BASELINE_SONOD
#   bench/run.sh opcost [op_cost options]     # only op_cost: each request's cost
#                                             # to the audio thread, at 256 and
#                                             # 64 frames (issue 14)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" >/dev/null
fi
if [ "${1:-}" = graph ]; then
  shift
  ninja -C "$build" bench/bench_graph daemon/sonod daemon/vst/sonod-vst-scan >/dev/null
  echo "## sonod graph and host benchmark"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: \`$(uname -a)\`, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  exec "$build/bench/bench_graph" --sonod "$build/daemon/sonod" "$@"
fi
if [ "${1:-}" = control ]; then
  baseline=$2
  shift 2
  ninja -C "$build" bench/bench_control daemon/sonod >/dev/null
  echo "## sonod control-thread benchmark (bench_control)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: \`$(uname -a)\`, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), baseline $baseline"
  echo
  exec "$build/bench/bench_control" --sonod "$build/daemon/sonod" --baseline "$baseline" "$@"
fi
if [ "${1:-}" = capture ]; then
  shift
  ninja -C "$build" bench/bench_capture >/dev/null
  echo "## sonod capture benchmark (daemon/rt/capture.c)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: \`$(uname -a)\`, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  exec "$build/bench/bench_capture" "$@"
fi
if [ "${1:-}" = queue ]; then
  shift
  ninja -C "$build" bench/bench_queue >/dev/null
  echo "## sonod queue benchmark (daemon/queue)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: \`$(uname -a)\`, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  exec "$build/bench/bench_queue" "$@"
fi
if [ "${1:-}" = opcost ]; then
  shift
  ninja -C "$build" bench/op_cost daemon/sonod daemon/vst/sonod-vst-scan tests/vst/testplug.so >/dev/null
  echo "## What each request costs the audio thread"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: \`$(uname -a)\`, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  for b in 256 64; do
    echo
    "$build/bench/op_cost" --sonod "$build/daemon/sonod" --plugin "$build/tests/vst/testplug.so" \
      --block "$b" "$@"
  done
  exit 0
fi
ninja -C "$build" bench/bench_rtt daemon/sonod bench/csound/bench_xanadu >/dev/null

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "## sonod request benchmark"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- Machine: \`$(uname -a)\`"
echo "- CPU: ${cpu:-unknown}, $(nproc) CPUs online"
echo "- Build: $(meson introspect "$build" --buildoptions 2>/dev/null |
  python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print("buildtype=%s, rtsan=%s, b_sanitize=%s" % (o.get("buildtype"), o.get("rtsan"), o.get("b_sanitize")))' 2>/dev/null || echo unknown)"
echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
"$build/bench/bench_rtt" --sonod "$build/daemon/sonod" "$@"

xanadu=/usr/share/doc/csound/examples/xanadu.csd
runs=${XANADU_RUNS:-3}
if [ "$runs" -gt 0 ]; then
  echo
  echo "## Csound .csd render: sonod vs csound -o"
  echo
  if [ ! -f "$xanadu" ] && [ -f "$xanadu.gz" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    gunzip -c "$xanadu.gz" >"$tmp/xanadu.csd"
    xanadu=$tmp/xanadu.csd
  fi
  if [ -f "$xanadu" ] && command -v csound >/dev/null; then
    "$build/bench/csound/bench_xanadu" "$xanadu" "$runs"
  else
    echo "skipped: needs $xanadu and the csound command line"
  fi
fi
