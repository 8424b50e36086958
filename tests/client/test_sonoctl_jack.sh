#!/bin/sh
# test_sonoctl_jack.sh SONOD SONOCTL TESTPLUG - `sonoctl transport`, `midi`
# and `freewheel` against a real sonod on the null backend: transport set
# (at a frame) and get, status's transport and latency, MIDI routes to a
# plugin node (the test plugin), and what the null backend refuses
# (transport follow on, freewheel: not_supported, exit 1).
set -u

SONOD=$1
SONOCTL=$2
TESTPLUG=$3
PLUGIN_DIR=$(dirname "$TESTPLUG")

. "$(dirname "$0")/lib.sh"
lib_init sonoctl-jack-it

start_sonod --no-config --backend null --socket "$SOCK" --sample-rate 48000 --block-size 256

# ---- transport
check "transport (get) at start" 0 '^tempo +120' transport
check "transport get --json" 0 \
  '^\{"tempo":120\.0,"num":4,"den":4,"playing":false,"follow":false,"frame":0,"ppq":0\.0,"bar":1,"beat":1\.0,"engine_frame":[0-9]+\}$' \
  --json transport get
check "status transport+latency" 0 \
  '"latency":\{"capture":0,"playback":0\},"transport":\{"tempo":120\.0,"num":4,"den":4,"playing":false,"frame":0,"ppq":0\.0\}' \
  --json status
check "transport --help" 0 'transport set \[--tempo BPM\]' transport --help

# Set at an absolute frame a little ahead; the reply names that frame.
NOW=$(ctl --json transport get | sed 's/.*"engine_frame":\([0-9]*\).*/\1/')
AT=$((NOW + 24000))
check "transport set --at" 0 "^transport set at frame $AT\$" \
  transport set --tempo 90 --sig 3/4 --play --frame 96000 --at "$AT"
ctl sync >/dev/null 2>&1
# Wait until the change landed (0.5 s of engine time).
i=0
while [ $i -lt 300 ]; do
  out=$(ctl --json transport get)
  case "$out" in *'"playing":true'*) break ;; esac
  sleep 0.01; i=$((i + 1))
done
printf '%s\n' "$out" | grep -Eq '"tempo":90\.0,"num":3,"den":4,"playing":true' ||
  fail "transport after set: $out"
# Song position = 96000 + (engine_frame - AT), exactly.
EF=$(printf '%s' "$out" | sed 's/.*"engine_frame":\([0-9]*\).*/\1/')
SF=$(printf '%s' "$out" | sed 's/.*"frame":\([0-9]*\).*/\1/')
# The two are published one after the other by the audio thread: a read
# between them sees them one block (256) apart.
D=$((SF - (96000 + EF - AT)))
case "$D" in
  0|256|-256) echo "ok: song position follows the engine clock from the set's frame" ;;
  *) fail "song frame $SF, wanted $((96000 + EF - AT)) (engine $EF, at $AT)" ;;
esac
check "status transport after set" 0 '"transport":\{"tempo":90\.0,"num":3,"den":4,"playing":true,' \
  --json status
check "transport set --stop --json" 0 '^\{"frame":[0-9]+\}$' --json transport set --stop
check "transport set nothing" 2 'set wants' transport set
check "transport set bad sig" 2 '--sig wants N/D' transport set --sig 3
check "transport bad tempo (server)" 1 '^sonoctl: bad_value: ' transport set --tempo 2000
check "transport follow on (null)" 1 '^sonoctl: not_supported: ' transport follow on
check "transport follow off" 0 'not following JACK transport at frame' transport follow off
check "transport bad verb" 2 'unknown verb' transport jump

# ---- midi routes
check "midi routes (none)" 0 '^no routes$' midi routes
check "midi routes --json (none)" 0 '^\{"routes":\[\]\}$' --json midi routes
out=$(ctl --json plugin load "$TESTPLUG")
NODE=$(printf '%s\n' "$out" | sed -n 's/^{"node":\([0-9]*\),.*/\1/p')
[ -n "$NODE" ] || { fail "plugin load: $out"; NODE=1; }
check "midi route NODE" 0 "^routed $NODE at frame [0-9]+\$" midi route "$NODE"
check "midi routes" 0 "^$NODE +channel all" midi routes
check "midi route --channel (replaces)" 0 '^\{"frame":[0-9]+\}$' --json midi route "$NODE" --channel 9
check "midi routes --json" 0 "^\\{\"routes\":\\[\\{\"to\":\"$NODE\",\"channel\":9\\}\\]\\}\$" --json midi routes
check "midi route unknown node" 1 '^sonoctl: unknown_node: ' midi route 999
check "midi route bad channel" 2 '--channel wants 0..15' midi route "$NODE" --channel 16
check "midi route csound without instr" 2 'wants --instr' midi route csound
check "midi unroute" 0 "^unrouted $NODE at frame" midi unroute "$NODE"
check "midi unroute again" 1 '^sonoctl: not_connected: ' midi unroute "$NODE"
check "midi routes after unroute" 0 '^no routes$' midi routes
# To a Csound instrument, with a pool of voices.
printf '%s\n' 'a1 upsamp ivel' 'out a1' > "$DIR/note.orc"
check "instr define note" 0 '^defined note: inote=0 ivel=0$' \
  instr define note "$DIR/note.orc" --param inote=0 --param ivel=0
check "midi route csound --voices" 0 '^routed csound instr note at frame [0-9]+$' \
  midi route csound --instr note --note inote --velocity ivel --voices 4
check "midi routes (csound)" 0 '^csound +channel all +instr note note inote velocity ivel voices 4$' \
  midi routes
check "midi routes --json (csound)" 0 \
  '^\{"routes":\[\{"to":"csound","instr":"note","note":"inote","velocity":"ivel","channel":null,"voices":4\}\]\}$' \
  --json midi routes
check "status midi_csound" 0 '"midi_csound":\{"dropped":0,"failed":0,"sounding":0\}' --json status
check "midi route --voices 0" 2 '--voices wants 1..1024' midi route csound --instr note --voices 0
check "midi route NODE --voices" 2 'are for csound' midi route "$NODE" --voices 4
check "instr undefine routed" 1 '^sonoctl: busy: ' instr undefine note
check "midi unroute csound" 0 '^unrouted csound instr note at frame' midi unroute csound --instr note
check "instr undefine after unroute" 0 '' instr undefine note

# ---- freewheel: JACK only
check "freewheel on (null)" 1 '^sonoctl: not_supported: engine.freewheel' freewheel on
check "freewheel bad arg" 2 'wants on or off' freewheel maybe

if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS failure(s)"
  cat "$DIR/sonod.log"
  exit 1
fi
echo "all passed"
