#!/bin/sh
# test_sonoctl.sh SONOD SONOCTL - runs every sonoctl subcommand against a real
# sonod on the null backend and checks what it prints and how it exits.
set -u

SONOD=$1
SONOCTL=$2
. "$(dirname "$0")/lib.sh"
CTL_TIMEOUT=10
lib_init sonoctl-it

start_sonod --no-config --backend null --socket "$SOCK" --sample-rate 48000 --block-size 256

check "--version" 0 '^sonoctl [0-9]' --version
check "--help lists commands" 0 'monitor' --help
check "unknown command" 2 "unknown command 'frobnicate'" frobnicate
check "status" 0 '^sample_rate +48000$' status
check "status --json" 0 '^\{"backend":"null","state":"running",.*"heap_capacity":4096\}$' --json status
check "hello" 0 '^capabilities +\[.*"tone".*\]$' hello --name it
check "ping" 0 '^3 pings: min [0-9.]+ ms, median [0-9.]+ ms, max [0-9.]+ ms$' ping -c 3 -i 0
check "ping --json" 0 '^\{"count":2,"min_ms":[0-9.]+,"median_ms":[0-9.]+,"max_ms":[0-9.]+\}$' --json ping -c 2 -i 0
check "ping -c bad" 2 '-c wants a count' ping -c zero
check "sync" 0 '^synced at frame [0-9]+$' sync
check "sync --json" 0 '^\{"frame":[0-9]+\}$' --json sync

# monitor in the background, then make it something to print.
"$SONOCTL" --socket "$SOCK" --json monitor -n 2 tone >"$DIR/monitor.out" 2>&1 &
MPID=$!
sleep 0.3
check "tone on" 0 '^tone on at frame [0-9]+$' tone on --freq 660 --amp 0.05 --delay 0.02
check "tone off --json" 0 '^\{"frame":[0-9]+\}$' --json tone off
i=0
while kill -0 "$MPID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
if wait "$MPID"; then
  if grep -q '^{"event":"tone","on":true,.*"freq":660.0' "$DIR/monitor.out" &&
     grep -q '^{"event":"tone","on":false' "$DIR/monitor.out"; then
    echo "ok: monitor --json"
  else
    fail "monitor --json printed: $(cat "$DIR/monitor.out")"
  fi
else
  fail "monitor exited with an error: $(cat "$DIR/monitor.out")"
fi
MPID=

check "tone late" 1 '^sonoctl: late: ' tone on --at 1
check "tone bad freq" 1 '^sonoctl: bad_value: ' tone on --freq 100000
check "tone --at and --delay" 2 'not both' tone on --at 5 --delay 1
check "tone without on/off" 2 "say 'on' or 'off'" tone
check "render on null" 1 '^sonoctl: not_supported: ' render --frames 100
check "call ping" 0 '^\{"data":\[1,"x",\{"y":null\}\]\}$' call ping '{"data":[1,"x",{"y":null}]}'
check "call unknown op" 1 '^sonoctl: unknown_op: ' call no.such.op
check "call bad JSON" 2 'trailing characters' call ping '{} x'
check "subscribe unknown kind" 1 '^sonoctl: unknown_event: ' monitor -n 1 nonsense

check "shutdown" 0 '^sonod is shutting down$' shutdown
i=0
while kill -0 "$DPID" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
if wait "$DPID"; then echo "ok: sonod exited with 0"; else fail "sonod exit status $?"; fi
DPID=
check "no daemon" 1 '^sonoctl: connect_failed: ' status
check "--wait needs seconds" 2 "'soon' is not a number of seconds" --wait soon status

# --wait: a sonoctl started before its daemon connects once the daemon is
# up (without it: connect_failed at once, as above).
rm -f "$SOCK"
"$SONOCTL" --socket "$SOCK" --wait 30 --timeout 10 status >"$DIR/wait.out" 2>&1 &
MPID=$!
sleep 0.3
start_sonod --no-config --backend null --socket "$SOCK"
if wait "$MPID" && grep -q '^backend  *null$' "$DIR/wait.out"; then
  echo "ok: --wait connects to a daemon started after it"
else
  fail "--wait: $(cat "$DIR/wait.out")"
fi
MPID=
check "shutdown the waited-for daemon" 0 '^sonod is shutting down$' shutdown
wait "$DPID"
DPID=

# The offline backend waits for `render`: a tone queued by one client lands
# when another renders past it.
rm -f "$SOCK"
spawn_sonod --no-config --backend offline --output "$DIR/out.wav" --length 0.5 --socket "$SOCK" \
  --sample-rate 48000 --block-size 256
"$SONOCTL" --socket "$SOCK" --timeout 10 tone on --at 1000 >"$DIR/tone.out" 2>&1 &
MPID=$!
sleep 0.2
check "offline hello" 0 '^capabilities +\[.*"render".*\]$' hello
check "render --frames" 0 '^rendered up to frame 4800$' render --frames 4800
if wait "$MPID" && grep -q '^tone on at frame 1000$' "$DIR/tone.out"; then
  echo "ok: queued tone answered by the render"
else
  fail "queued tone: $(cat "$DIR/tone.out")"
fi
MPID=
check "render --json to --length" 0 '^\{"frame":24000\}$' --json render
i=0
while kill -0 "$DPID" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
if wait "$DPID"; then echo "ok: offline sonod exited with 0"; else fail "offline sonod exit status $?"; fi
DPID=
[ -s "$DIR/out.wav" ] || fail "no output file"

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "all sonoctl checks passed"
