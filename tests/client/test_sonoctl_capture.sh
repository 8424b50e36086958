#!/bin/sh
# test_sonoctl_capture.sh SONOD SONOCTL WAV_PEAK - `sonoctl capture` against
# a real sonod on the offline backend: the WAV sonoctl writes holds exactly
# the frames asked for, silent before a tone started at a known frame and at
# the tone's level from that frame on; the block lines without -o; usage
# errors and an unknown node.
set -u

SONOD=$1
SONOCTL=$2
WAV_PEAK=$3

. "$(dirname "$0")/lib.sh"
CHECK_SHOW_EXIT=1
lib_init sonoctl-capture-it

start_sonod --no-config --backend offline --output none --socket "$SOCK" \
  --sample-rate 48000 --block-size 256

# capture_bg LOG ARGS...: sonoctl ARGS (a capture) in the background
# (CPID), up when it has said "capturing": only then is the sound made.
capture_bg() {
  log=$1
  shift
  ctl "$@" >"$log.out" 2>"$log.err" &
  CPID=$!
  i=0
  while [ $i -lt 500 ] && ! grep -q '^capturing' "$log.err"; do
    sleep 0.01
    i=$((i + 1))
  done
  grep -q '^capturing out (2 channels) from frame' "$log.err" ||
    fail "capture did not start: $(cat "$log.err")"
}

# expect NAME GOT WANT
expect() {
  if [ "$2" = "$3" ]; then echo "ok: $1 ($2)"; else fail "$1: got '$2', wanted '$3'"; fi
}

# 1. A WAV of 4 800 frames; the tone starts at frame 1 000 of the capture.
capture_bg "$DIR/c1" capture out --frames 4800 -o "$DIR/cap.wav"
start=$(sed -n 's/^capturing out (2 channels) from frame \([0-9]*\)$/\1/p' "$DIR/c1.err")
ctl tone on --freq 1000 --amp 0.5 --at $((start + 1000)) >/dev/null
ctl render --frames 9600 >/dev/null
wait "$CPID"
expect "capture exit status" "$?" 0
expect "summary line" "$(cat "$DIR/c1.out")" "4800 frames (0.100 s) of out captured to $DIR/cap.wav"
expect "frames, rate, channels" "$("$WAV_PEAK" "$DIR/cap.wav" | cut -d' ' -f1-3)" "4800 48000 2"
expect "silent before the tone" "$("$WAV_PEAK" "$DIR/cap.wav" 0 1000 | cut -d' ' -f4)" 0.000000
# sin(2 pi 1000 n / 48000) peaks at n = 12: 0.5 at full level.
expect "the tone from its frame on" "$("$WAV_PEAK" "$DIR/cap.wav" 1000 1013 | cut -d' ' -f4)" 0.500000
expect "first sample of the tone" "$("$WAV_PEAK" "$DIR/cap.wav" 1000 1001 | cut -d' ' -f4)" 0.000000
expect "second sample of the tone" "$("$WAV_PEAK" "$DIR/cap.wav" 1001 1002 | cut -d' ' -f4)" \
  "$(LC_ALL=C awk 'BEGIN { printf "%.6f", 0.5 * sin(2 * 3.14159265358979 * 1000 / 48000) }')"

# 2. Without -o: a line per block, FRAME FRAMES PEAK PEAK.
capture_bg "$DIR/c2" capture out --frames 2048 --block 1024
start=$(sed -n 's/^capturing out (2 channels) from frame \([0-9]*\)$/\1/p' "$DIR/c2.err")
ctl render --frames 4096 >/dev/null
wait "$CPID"
expect "block lines" "$(cat "$DIR/c2.out" | tr '\n' '|')" \
  "$start 1024 0.500000 0.500000|$((start + 1024)) 1024 0.500000 0.500000|"

# 3. --json, and the out node's inputs: nothing is connected, silence.
# It starts where the last render ended.
capture_bg "$DIR/c3" --json capture out --port in --frames 100
ctl render --frames 1024 >/dev/null
wait "$CPID"
expect "json line, port in" "$(cat "$DIR/c3.out")" \
  "{\"frame\":$((start + 4096)),\"frames\":100,\"dropped\":0,\"peak\":[0,0]}"

check "unknown node" 1 'unknown_node' capture 99 --frames 10
check "no node" 2 'NODE is missing' capture
check "seconds and frames" 2 'not both' capture out --frames 5 --seconds 1
check "block too small" 2 '16..65536' capture out --block 8
check "bad port" 2 'out or in' capture out --port side
check "help" 0 'usage: sonoctl .*capture NODE' capture --help
[ ! -e "$DIR/none.wav" ] || fail "a refused capture left a file"
check "refused capture leaves no file" 1 'unknown_node' capture 99 -o "$DIR/none.wav"
[ ! -e "$DIR/none.wav" ] && echo "ok: no file left" || fail "a refused capture left $DIR/none.wav"

[ "$FAILS" -eq 0 ] || exit 1
