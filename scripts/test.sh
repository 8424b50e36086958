#!/bin/sh
# Installs what sonod needs, builds it four ways and runs every test:
#   build/        the normal build: every suite, on a machine made to look
#                 like a user's (tests/hostile-env.sh: another locale and
#                 time zone, a HOME full of plugins and settings, SONOD_*
#                 and systemd variables set, a running jackd and sonod)
#   build-rtsan/  with the realtime checker: every suite, any allocation,
#                 lock or blocking call on the audio thread fails the run
#   build-asan/   with AddressSanitizer and UBSan: every suite
#   build-fuzz/   clang-19, libFuzzer, ASan+UBSan: the fuzz harnesses for
#                 about a minute (tests/fuzz/README.md)
set -eu
cd "$(dirname "$0")/.."
# --test-extras: more plugin packages than the tests use (a user's machine
# has them too), and the locale and time-zone data for the hostile run.
./scripts/setup.sh --test-extras

# Tests point HOME at temporary folders and set the variables sonod reads
# (tests/meson.build, the default test setup); plugins and JACK need a
# writable /dev/shm, which Debian provides.
export JACK_NO_START_SERVER=1
export JACK_NO_AUDIO_RESERVATION=1

# run DIR WRAPPER [MESON-SETUP-ARGS...]
run() {
  dir=$1 wrap=$2
  shift 2
  if [ -d "$dir" ]; then
    # An existing build keeps the options it was set up with; the ones
    # given here are applied again so that it is the build it claims.
    [ $# -eq 0 ] || meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@"
  fi
  ninja -C "$dir"
  $wrap meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== normal build, in a hostile environment"
run build "tests/hostile-env.sh build"
echo "== realtime checker (RTSan)"
# -Drtsan=true is what makes it the RTSan build (it was lost once, and the
# "RTSan" run was a second plain build for a while: tests/rtsan checks now
# that the checker is really on in this build).
run build-rtsan "" -Drtsan=true
meson test -C build-rtsan --list 2>/dev/null | grep -q ' rtsan$' ||
  { echo "build-rtsan has no rtsan suite: it is not the RTSan build" >&2; exit 1; }
echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
# handle_segv=0: the scanner tests crash a child process on purpose and
# expect it to die by SIGSEGV, not by ASan's exit code.
# fast_unwind_on_malloc=0 gives LeakSanitizer whole stacks, so the leaks
# Csound's own opcode libraries make at start-up (reached through
# libcsound64, listed in tests/lsan.supp) are told apart from ours.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
ASAN_OPTIONS=handle_segv=0:detect_leaks=1:fast_unwind_on_malloc=0 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite thirdparty
# Suites that load third-party plugins or drive Csound directly: their
# leaks live in libraries that are unloaded before LeakSanitizer looks, so
# it cannot tell them from ours.  Memory errors are still fatal.
ASAN_OPTIONS=handle_segv=0:detect_leaks=0 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --suite thirdparty
echo "== libFuzzer, short run (tests/fuzz; the long one is scripts/fuzz.sh)"
# clang-19 with libFuzzer and ASan+UBSan; only the harnesses and what they
# load are built here.
[ -d build-fuzz ] || CC=clang-19 meson setup build-fuzz -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-fuzz tests/fuzz/fuzz_frame tests/fuzz/fuzz_requests \
  tests/fuzz/fuzzplug.so tests/fuzz/fuzzplug_chunk.so daemon/vst/sonod-vst-scan
meson test -C build-fuzz --no-rebuild --print-errorlogs --num-processes 2 --suite fuzz
# One closing line over all four builds, counted from meson's own logs.
python3 - build build-rtsan build-asan build-fuzz <<'PY'
import json, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    with open(d + "/meson-logs/testlog.json") as f:
        for line in f:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"Tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
