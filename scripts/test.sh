#!/bin/sh
# Installs what sonod needs, builds it three ways and runs every test:
#   build/        the normal build: every suite
#   build-rtsan/  with the realtime checker: every suite, any allocation,
#                 lock or blocking call on the audio thread fails the run
#   build-asan/   with AddressSanitizer and UBSan: every suite
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh

# Tests point HOME at temporary folders; plugins and JACK need a writable
# /dev/shm, which Debian provides.
export JACK_NO_START_SERVER=1
export JACK_NO_AUDIO_RESERVATION=1

run() {
  dir=$1
  shift
  [ -d "$dir" ] || meson setup "$dir" "$@"
  ninja -C "$dir"
  meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== normal build"
run build
echo "== realtime checker (RTSan)"
run build-rtsan -Drtsan=true
echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp \
  run build-asan -Db_sanitize=address,undefined -Db_lundef=false
echo "== all builds passed"
