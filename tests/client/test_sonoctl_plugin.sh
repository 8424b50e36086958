#!/bin/sh
# test_sonoctl_plugin.sh SONOD SONOCTL TESTPLUG_ODD - `sonoctl plugin ...`
# against a real sonod (null backend) with amsynth: load, list, params,
# set/get, programs, MIDI, state save/load through a file, scan, unload, and
# the error exits; and a 20 MB state (TESTPLUG_ODD) saved and loaded, which
# travels in pages.
# Skips (77) when amsynth is not installed.
set -u

SONOD=$1
SONOCTL=$2
ODD=$3
PLUGIN_DIR=$(dirname "$ODD")   # a plugin path of the daemon (lib.sh)
AMSYNTH=/usr/lib/vst/amsynth_vst.so
[ -f "$AMSYNTH" ] || { echo "amsynth not installed: skipped"; exit 77; }

. "$(dirname "$0")/lib.sh"
lib_init sonoctl-plugin-it
# amsynth reads and writes its presets under $HOME.
HOME=$DIR/home
export HOME
mkdir "$HOME"

# Never the machine's sonod.conf: the test says everything.
start_sonod --no-config --backend null --socket "$SOCK" --sample-rate 48000 --block-size 256

check "plugin --help" 0 'state save\|load NODE FILE' plugin --help
check "plugin without verb" 2 'usage: sonoctl' plugin
check "unknown verb" 2 "unknown verb 'frobnicate'" plugin frobnicate

out=$(ctl --json plugin load "$AMSYNTH")
NODE=$(printf '%s\n' "$out" | sed -n 's/^{"node":\([0-9]*\),.*/\1/p')
if [ -n "$NODE" ] && printf '%s\n' "$out" | grep -q '"name":"amsynth".*"params":41'; then
  echo "ok: load --json (node $NODE)"
else
  fail "load --json printed: $out"
  NODE=1
fi

check "list" 0 "^ +$NODE  amsynth  $AMSYNTH\$" plugin list
check "list --json" 0 "^\\{\"nodes\":\\[\\{\"node\":$NODE,\"name\":\"amsynth\"" --json plugin list

ctl plugin params "$NODE" >"$DIR/params.out" 2>&1
lines=$(wc -l <"$DIR/params.out")
if [ "$lines" -eq 41 ] && head -n 1 "$DIR/params.out" | grep -Eq '^ +0  amp_attack  0\.000000 '; then
  echo "ok: params (41 lines, amp_attack first)"
else
  fail "params: $lines lines: $(head -n 3 "$DIR/params.out")"
fi
check "params --json" 0 '^\{"params":\[\{"index":0,"name":"amp_attack",' --json plugin params "$NODE"

check "set by name" 0 '^set at frame [0-9]+$' plugin set "$NODE" amp_attack 0.25
check "get by name" 0 '^value +0\.25$' plugin get "$NODE" amp_attack
check "get by index --json" 0 '^\{"index":0,"name":"amp_attack","value":0\.25,' --json plugin get "$NODE" 0
check "set --delay" 0 '^set at frame [0-9]+$' plugin set "$NODE" 1 0.5 --delay 0.01
check "set --at and --delay" 2 'not both' plugin set "$NODE" 1 0.5 --at 5 --delay 1

# amsynth only gives its chunk back for a named preset: select one first.
check "program" 0 '^program 0: ' plugin program "$NODE" 0
check "programs" 0 '^\* +0  ' plugin programs "$NODE"
check "set before save" 0 '^set at frame' plugin set "$NODE" amp_attack 0.125
check "state save" 0 '^saved [0-9]+ bytes \(chunk\) of node' plugin state save "$NODE" "$DIR/state.bin"
if [ "$(head -c 8 "$DIR/state.bin")" = SONOVST1 ]; then
  echo "ok: state file header"
else
  fail "state file starts with $(head -c 8 "$DIR/state.bin" | od -c | head -n 1)"
fi
check "change after save" 0 '^set at frame' plugin set "$NODE" amp_attack 0.75
check "changed" 0 '^value +0\.75$' plugin get "$NODE" amp_attack
check "state load" 0 '^loaded [0-9]+ bytes \(chunk\) into node' plugin state load "$NODE" "$DIR/state.bin"
check "value restored" 0 '^value +0\.125$' plugin get "$NODE" amp_attack
printf 'not a state file' >"$DIR/bad.bin"
check "state load of a bad file" 1 'bad_file' plugin state load "$NODE" "$DIR/bad.bin"
head -c 30 "$DIR/state.bin" >"$DIR/short.bin"
check "state load of a truncated file" 1 'bad_file' plugin state load "$NODE" "$DIR/short.bin"
check "state load of no file" 1 'io_error' plugin state load "$NODE" "$DIR/none.bin"

# A state larger than a frame: saved in pages, loaded in pieces.  The test
# plugin keeps the chunk it is given, so saving again shows every byte.
out=$(ctl --json plugin load "$ODD")
BIG=$(printf '%s\n' "$out" | sed -n 's/^{"node":\([0-9]*\),.*/\1/p')
check "big state save" 0 '^saved 20000000 bytes \(chunk\) of node' plugin state save "$BIG" "$DIR/big.bin"
{ head -c 20 "$DIR/big.bin"; head -c 20000000 /dev/zero | tr '\0' 'x'; } >"$DIR/bigx.bin"
check "big state load" 0 '^loaded 20000000 bytes \(chunk\) into node' plugin state load "$BIG" "$DIR/bigx.bin"
check "big state save again" 0 '^saved 20000000 bytes' plugin state save "$BIG" "$DIR/big2.bin"
if cmp -s "$DIR/bigx.bin" "$DIR/big2.bin" && ! cmp -s "$DIR/big.bin" "$DIR/big2.bin"; then
  echo "ok: the 20 MB state came back as loaded"
else
  fail "the 20 MB state read back differs from the one loaded"
fi
check "big unload" 0 '^unloaded at frame [0-9]+$' plugin unload "$BIG"

check "note" 0 '^note at frame [0-9]+$' plugin note "$NODE" 60 --vel 90 --len 0.05
# The frame the note plays at, not the one the request arrived at.
check "note --at --len" 0 '^note at frame 100000000$' plugin note "$NODE" 62 --at 100000000 --len 0.1
check "note --delay" 0 '^note at frame [0-9]+ \+ 0\.3 s$' plugin note "$NODE" 62 --delay 0.3
check "note --json" 0 '^\{"frame":[0-9]+\}$' --json plugin note "$NODE" 64 --delay 0.01
check "note bad velocity" 2 '--vel wants 0..127' plugin note "$NODE" 60 --vel 300
check "cc" 0 '^cc at frame [0-9]+$' plugin cc "$NODE" 7 100 --channel 1

mkdir "$DIR/vst"
ln -s "$AMSYNTH" "$DIR/vst/amsynth.so"
check "scan" 0 '^ok +.*amsynth.*: amsynth \(synth\)$' plugin scan "$DIR/vst"

# Errors: the server's code, exit status 1; usage mistakes exit 2.
check "unknown node" 1 '^sonoctl: unknown_node: ' plugin params 999
check "unknown node (get)" 1 '^sonoctl: unknown_node: ' plugin get 999 amp_attack
check "unknown param" 1 '^sonoctl: unknown_param: ' plugin get "$NODE" no_such_param
check "value out of range" 1 '^sonoctl: bad_value: ' plugin set "$NODE" amp_attack 1.5
check "load missing file" 1 '^sonoctl: load_failed: ' plugin load "$DIR/none.so"
check "set without value" 2 'missing arguments' plugin set "$NODE" amp_attack
check "node not a number" 2 'NODE is a node number' plugin params abc

check "unload" 0 '^unloaded at frame [0-9]+$' plugin unload "$NODE"
check "unload again" 1 '^sonoctl: unknown_node: ' plugin unload "$NODE"

# The same plugin in a host process of its own.
out=$(ctl --json plugin load "$AMSYNTH" --isolate)
INODE=$(printf '%s\n' "$out" | sed -n 's/^{"node":\([0-9]*\),.*/\1/p')
[ -n "$INODE" ] || { fail "load --isolate printed: $out"; INODE=1; }
check "list shows isolated" 0 "\"node\":$INODE,\"name\":\"amsynth\",.*\"isolated\":true,\"state\":\"running\"" \
  --json plugin list
check "isolated set" 0 '^set at frame [0-9]+$' plugin set "$INODE" amp_attack 0.5
check "isolated get" 0 '^value +0\.5$' plugin get "$INODE" amp_attack
check "restart a running node" 1 '^sonoctl: bad_value: .*has not crashed' plugin restart "$INODE"
check "isolated unload" 0 '^unloaded at frame [0-9]+$' plugin unload "$INODE"
check "list empty" 0 '^no plugins loaded$' plugin list

check "shutdown" 0 '^sonod is shutting down$' shutdown
i=0
while kill -0 "$DPID" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
if wait "$DPID"; then echo "ok: sonod exited with 0"; else fail "sonod exit status $?"; fi
DPID=

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; cat "$DIR/sonod.log"; exit 1; }
echo "all sonoctl plugin checks passed"
