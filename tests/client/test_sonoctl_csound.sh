#!/bin/sh
# test_sonoctl_csound.sh SONOD SONOCTL WAV_PEAK - the Csound commands of
# sonoctl against a real sonod on the offline backend: an instrument defined
# from a file, a synth started, set, automated and stopped at frames, buses,
# tables, channels, compile, raw events; the rendered file checked for
# silence and sound at the right frames (wav_peak); error exits.  Then
# `sonoctl render piece.csd -o out.wav` on Csound's xanadu example, which
# needs no daemon.
set -u

SONOD=$1
SONOCTL=$2
WAV_PEAK=$3

. "$(dirname "$0")/lib.sh"
CTL_TIMEOUT=60
CHECK_SHOW_EXIT=1
lib_init sonoctl-csound-it
OUT=$DIR/out.wav

# peak NAME FROM TO MIN MAX: the largest |sample| of $OUT in [FROM, TO) lies
# in [MIN, MAX].
peak() {
  p=$("$WAV_PEAK" "$OUT" "$2" "$3" | cut -d' ' -f4)
  if awk -v p="$p" -v lo="$4" -v hi="$5" 'BEGIN { exit !(p >= lo && p <= hi) }'; then
    echo "ok: $1 (peak $p in frames $2..$3)"
  else
    fail "$1: peak $p in frames $2..$3, wanted $4..$5"
  fi
}

# Never the machine's sonod.conf: the test says everything.
start_sonod --no-config --backend offline --output "$OUT" --socket "$SOCK" \
  --sample-rate 48000 --block-size 256 --ksmps 32

check "synth --help" 0 'automate SYNTH PARAM T0 V0' synth --help
check "synth without verb" 2 'usage: sonoctl' synth
check "unknown verb" 2 "unknown verb 'frobnicate'" instr frobnicate

printf 'asig oscili kamp, kfreq\nouts asig, asig\n' >"$DIR/sine.orc"
check "instr define" 0 '^defined sine: kfreq=440 kamp=0.5$' \
  instr define sine "$DIR/sine.orc" --param kfreq=440 --param kamp=0.5
check "instr list" 0 '^sine  kfreq=440 kamp=0.5$' instr list
# Floats print the shortest way that reads back the same.
check "instr define 0.1 prints as 0.1" 0 '^defined tenth: kamp=0.1 kfreq=0.3$' \
  instr define tenth "$DIR/sine.orc" --param kamp=0.1 --param kfreq=0.3
check "instr undefine" 0 '' instr undefine tenth
check "instr list --json" 0 '^\{"instrs":\[\{"name":"sine","params":\{"kfreq":440\.0,"kamp":0\.5\}\}\]\}$' \
  --json instr list

out=$("$SONOCTL" --socket "$SOCK" synth start sine kfreq=440 --at 4800 2>&1)
ID=$(printf '%s\n' "$out" | sed -n 's/^synth \([0-9]*\) at frame 4800$/\1/p')
if [ -n "$ID" ]; then echo "ok: synth start (synth $ID)"; else fail "synth start: $out"; ID=1; fi
check "synth get" 0 "^synth $ID sine: kfreq=440 kamp=0.5\$" synth get "$ID"
check "synth list" 0 "^$ID  sine\$" synth list
check "synth set" 0 '^set at frame 24000$' synth set "$ID" kfreq=660 --at 24000
check "synth automate" 0 '^automated at frame 30000$' \
  synth automate "$ID" kamp 0 0.5 0.25 0.25 --mode linear --at 30000
check "synth stop --at" 0 '^stopped at frame 48000$' synth stop "$ID" --at 48000
check "synth start --json" 0 '^\{"synth":[0-9]+,"frame":60000\}$' \
  --json synth start sine kamp=0.125 --at 60000 --dur 0.1

check "bus new" 0 '^bus [0-9]+ \(control\)$' bus new control
BUS=$("$SONOCTL" --socket "$SOCK" --json bus new control | sed -n 's/^{"bus":\([0-9]*\),.*/\1/p')
check "bus set (negative value)" 0 '^set at frame' bus set "$BUS" -0.5
check "table new" 0 '^table 20001 \(3 values\)$' table new 1 2 -3
check "channel set" 0 '^set at frame 0$' channel set cutoff 3
check "channel get before a block (bound at once, not set yet)" 0 '^0$' channel get cutoff

check "render (daemon)" 0 '^rendered up to frame 72000$' render --frames 72000

check "channel get" 0 '^3$' channel get cutoff
check "bus get" 0 '^-0\.5$' bus get "$BUS"
check "table get" 0 '^1
2
-3$' table get 20001
check "table get --json" 0 '^\{"table":20001,"start":1,"size":3,"data":\[2\.0\]\}$' \
  --json table get 20001 --start 1 --count 1
check "table free" 0 '^freed$' table free 20001
check "synth list empty" 0 '^no synths$' synth list
# --get: the id alone, for the shell.
ID2=$("$SONOCTL" --socket "$SOCK" --get synth synth start sine --delay 1 --dur 0.1)
case "$ID2" in
  [0-9]*) echo "ok: --get synth prints the id ($ID2)" ;;
  *) fail "--get synth: '$ID2'" ;;
esac
check "--get a missing member" 1 '^sonoctl: --get nosuch: the reply has no such member: \{' \
  --get nosuch synth list
check "synth stop by the --get id" 0 '^stopped at frame' synth stop "$ID2"
check "bus free" 0 '^freed$' bus free "$BUS"

printf 'instr 1\nasig oscili 0.25, 1000\nouts asig, asig\nendin\n' >"$DIR/one.orc"
check "compile" 0 '^compiled$' compile "$DIR/one.orc"
# Global code that makes a big table: compiled, with the daemon's warning.
printf 'giBig ftgen 0, 0, 2^20, 10, 1\n' >"$DIR/big.orc"
check "compile with a warning" 0 '^sonoctl: warning: global code runs .*table\.new' compile "$DIR/big.orc"
check "render after compile" 0 '^rendered up to frame 72256$' render --frames 256
check "event" 0 '^queued at frame 96000$' event "i 1 0 0.1" --at 96000
printf 'i 1 0 0.05\n' >"$DIR/score.sco"
check "score from stdin" 0 '^queued at frame 110000$' score - --at 110000 <"$DIR/score.sco"
# --spread: 2 starts a k-cycle at ksmps 32; 115000's k-cycle starts at 114976.
printf 'i 1 0 0.05\ni 1 0 0.05\ni 1 0 0.05\n' >"$DIR/chord.sco"
check "score --spread" 0 '^queued at frame 115000$' score "$DIR/chord.sco" --spread --at 115000
check "--spread takes no value" 2 "takes no value" score "$DIR/chord.sco" --spread=1
check "render to 120000" 0 '^rendered up to frame 120000$' render --frames 47744

# Errors: the server's code, exit status 1; usage mistakes exit 2.
check "stop an ended synth" 1 '^sonoctl: unknown_synth: ' synth stop "$ID"
check "unknown instrument" 1 '^sonoctl: unknown_instr: ' synth start nosuch
check "unknown parameter" 1 '^sonoctl: unknown_param: ' synth start sine kbogus=1
printf 'instr 2\nout a9\nendin\n' >"$DIR/bad.orc"
check "compile error" 1 '^sonoctl: csound_error: .*a9' compile "$DIR/bad.orc"
check "compile missing file" 1 '^sonoctl: file_error: ' compile "$DIR/none.orc"
check "table read missing file" 1 '^sonoctl: file_error: ' table read "$DIR/none.wav"
check "unknown bus" 1 '^sonoctl: unknown_bus: ' bus get 99999
check "bad channel name" 1 '^sonoctl: bad_value: ' channel set "a b" 1
check "parameter not NAME=NUMBER" 2 'NAME=NUMBER' synth start sine kfreq
check "set without parameters" 2 'missing arguments' synth set "$ID"
check "odd breakpoints" 2 'pairs' synth automate "$ID" kfreq 0 440 1
check "unknown option" 2 "unknown option '--frobnicate'" synth stop "$ID" --frobnicate 1
check "render .csd without -o" 2 'render PIECE.csd -o OUT.wav' render "$DIR/x.csd"

check "shutdown" 0 '^sonod is shutting down$' shutdown
i=0
while kill -0 "$DPID" 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
if wait "$DPID"; then echo "ok: sonod exited with 0"; else fail "sonod exit status $?"; fi
DPID=

# The daemon's file: silent before the start, the sine from 4800 to the
# stop at 48000, silent after, the second synth at 60000 (0.1 s), the
# compiled instrument from the raw event at 96000 and the score at 110000.
info=$("$WAV_PEAK" "$OUT")
case "$info" in
  "120000 48000 2 "*) echo "ok: daemon file is 120000 frames, 48000 Hz, 2 channels" ;;
  *) fail "daemon file: $info" ;;
esac
peak "silent before the start" 0 4800 0 0
peak "sounds from the start frame" 4800 4832 0.01 0.5
peak "sine at kamp 0.5" 4800 30000 0.49 0.5
peak "automated down to 0.25" 42000 48000 0.24 0.26
peak "silent from the stop frame" 48000 60000 0 0
peak "second synth (kamp 0.125)" 60000 64800 0.12 0.125
peak "silent after its --dur" 64800 96000 0 0
peak "raw event at 96000" 96000 100800 0.24 0.25
# A raw score event's end is only k-cycle exact: Csound performs the k-cycle
# that holds it (here the one from 100800), unlike a synth's stop.
peak "silent between the events" 100832 110000 0 0
peak "score at 110000" 110000 112400 0.24 0.25
# 1000 Hz: 8 frames reach sin(2pi*7/48); 3 notes at once would peak at 0.6 there
# and at 0.75 later, the third 8 frames late sums to 0.66 with the others.
peak "--spread: nothing before 115000" 114976 115000 0 0
peak "--spread: 2 notes at 115000" 115000 115008 0.35 0.45
peak "--spread: the third from the next k-cycle" 115008 117400 0.6 0.7

# A whole .csd through the local renderer: Csound's own xanadu example
# (Debian may ship it compressed), 60 s at 48 kHz, stereo.
XANADU=/usr/share/doc/csound/examples/xanadu.csd
if [ ! -f "$XANADU" ] && [ -f "$XANADU.gz" ]; then
  gunzip -c "$XANADU.gz" >"$DIR/xanadu.csd"
  XANADU=$DIR/xanadu.csd
fi
if [ -f "$XANADU" ]; then
  check "render xanadu.csd" 0 '^rendered 2880000 frames \(60\.000 s of audio, 48000 Hz, 2 channels\) to ' \
    render "$XANADU" -o "$DIR/x.wav"
  OUT=$DIR/x.wav
  case "$("$WAV_PEAK" "$OUT")" in
    "2880000 48000 2 "*) echo "ok: x.wav is 2880000 frames" ;;
    *) fail "x.wav: $("$WAV_PEAK" "$OUT")" ;;
  esac
  peak "xanadu is not silent" 0 2880000 0.01 1
else
  echo "xanadu.csd not installed: its render skipped"
fi
check "render a missing .csd" 1 '^sonoctl: file_error: ' render "$DIR/none.csd" -o "$DIR/y.wav"
printf 'not a csd\n' >"$DIR/bad.csd"
check "render a bad .csd" 1 '^sonoctl: csound_error: ' --json render "$DIR/bad.csd" -o "$DIR/y.wav"


# small_csd FILE OPTIONS BODY: one instrument, played for 0.1 s (4800 frames).
small_csd() {
  printf '<CsoundSynthesizer>\n<CsOptions>\n%s\n</CsOptions>\n<CsInstruments>\n' "$2" >"$1"
  printf 'sr = 48000\nksmps = 32\nnchnls = 1\n0dbfs = 1\ninstr 1\n%s\nout a1\nendin\n' "$3" >>"$1"
  printf '</CsInstruments>\n<CsScore>\ni 1 0 0.1\n</CsScore>\n</CsoundSynthesizer>\n' >>"$1"
}
# Csound's errors while it performs fail the render, as `csound` exits 1
# (a missing sound file said "rendered", exit 0).
small_csd "$DIR/nofile.csd" "" 'a1 diskin2 "no-such-file.wav", 1'
check "render with a missing sound file" 1 \
  '^sonoctl: csound_error: 1 errors in performance; the first: INIT ERROR in instr 1 \(opcode diskin2\) line 11: .*no-such-file.wav' \
  render "$DIR/nofile.csd" -o "$DIR/y.wav"
# -i FILE in <CsOptions> is the input (it rendered silence).
small_csd "$DIR/tone.csd" "-odac" 'a1 oscili 0.5, 440'
check "render a tone" 0 '^rendered 4800 frames' render "$DIR/tone.csd" -o "$DIR/tone.wav"
small_csd "$DIR/input.csd" "-i $DIR/tone.wav" 'a1 inch 1'
check "render with -i" 0 '^rendered 4800 frames' render "$DIR/input.csd" -o "$DIR/in-out.wav"
OUT=$DIR/in-out.wav
peak "-i is heard" 0 4800 0.49 0.5
small_csd "$DIR/adc.csd" "-iadc" 'a1 inch 1'
check "render with -iadc" 1 '^sonoctl: bad_value: -i adc: ' render "$DIR/adc.csd" -o "$DIR/y.wav"
small_csd "$DIR/noinput.csd" "-i $DIR/none.wav" 'a1 inch 1'
check "render with a missing -i" 1 '^sonoctl: file_error: -i: ' render "$DIR/noinput.csd" -o "$DIR/y.wav"
# The output's format follows its name (-o x.flac wrote a WAV); an unknown
# name is refused.
check "render to .flac" 0 '^rendered 4800 frames' render "$DIR/tone.csd" -o "$DIR/tone.flac"
if [ "$(head -c 4 "$DIR/tone.flac")" = fLaC ]; then echo "ok: tone.flac is FLAC"; else fail "tone.flac is not FLAC"; fi
OUT=$DIR/tone.flac
peak "tone.flac sounds" 0 4800 0.49 0.5
check "render to .mp9" 1 '^sonoctl: bad_value: cannot tell the format of ' render "$DIR/tone.csd" -o "$DIR/tone.mp9"

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; cat "$DIR/sonod.log"; exit 1; }
echo "all sonoctl csound checks passed"
