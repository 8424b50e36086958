#!/bin/sh
# test_sonoctl_token.sh SONOD SONOCTL - sonoctl over TCP to a sonod that
# wants a token: --token-file and $SONOD_TOKEN_FILE work, no token or a
# wrong one is reported (exit 1, code unauthorized), a token file open to
# others is refused before connecting, and the Unix socket needs none.
set -u

SONOD=$1
SONOCTL=$2
. "$(dirname "$0")/lib.sh"
CTL_TIMEOUT=10
lib_init sonoctl-token

# A loopback port that was free a moment ago.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TCP=tcp://127.0.0.1:$PORT
TOKEN=9b0e4c1d2a3f4e5d6c7b8a9f0e1d2c3b
printf '%s\n' "$TOKEN" >"$DIR/token"
printf 'not-the-token-but-long-enough\n' >"$DIR/wrong"
printf '%s\n' "$TOKEN" >"$DIR/open"
chmod 600 "$DIR/token" "$DIR/wrong"
chmod 644 "$DIR/open"

start_sonod --backend null --socket "$SOCK" --no-config \
  --tcp "127.0.0.1:$PORT" --tcp-token-file "$DIR/token"
# The Unix socket is up; wait for TCP with the token (a readiness wait).
i=0
until "$SONOCTL" -C "$TCP" -k "$DIR/token" sync >/dev/null 2>&1 || [ $i -ge 500 ]; do
  sleep 0.01; i=$((i + 1))
done

check "--token-file over TCP" 0 '^backend +null$' -C "$TCP" --token-file "$DIR/token" status
check "-k over TCP, --json" 0 '^\{"frame":[0-9]+\}$' -C "$TCP" -k "$DIR/token" --json sync
out=$(SONOD_TOKEN_FILE=$DIR/token "$SONOCTL" -C "$TCP" --timeout 10 status 2>&1)
if printf '%s\n' "$out" | grep -Eq '^sample_rate +48000$'; then
  echo "ok: \$SONOD_TOKEN_FILE over TCP"
else
  fail "\$SONOD_TOKEN_FILE over TCP: $out"
fi
check "no token over TCP" 1 '^sonoctl: unauthorized: .*authenticate' -C "$TCP" status
check "no token: the hint" 1 'token over TCP: --token-file PATH or \$SONOD_TOKEN_FILE' -C "$TCP" status
check "wrong token" 1 '^sonoctl: unauthorized: hello: wrong token; closing the connection$' \
  -C "$TCP" -k "$DIR/wrong" status
check "token file open to others" 1 \
  "^sonoctl: bad_token_file: $DIR/open: permissions 0644 are too open" -C "$TCP" -k "$DIR/open" status
check "missing token file" 1 "^sonoctl: bad_token_file: $DIR/none: No such file" \
  -C "$TCP" -k "$DIR/none" status
# The Unix socket needs no token, and a bad token file is not even read.
check "unix without a token" 0 '^backend +null$' status
check "unix ignores --token-file" 0 '^backend +null$' -k "$DIR/open" status
# monitor over TCP: events reach an authenticated client.
SONOD_TOKEN_FILE=$DIR/token "$SONOCTL" -C "$TCP" --json monitor -n 1 tone >"$DIR/monitor.out" 2>&1 &
MPID=$!
check "tone on (unix)" 0 '^tone on at frame [0-9]+$' tone on --freq 660 --amp 0.05
# Until the monitor has subscribed and seen one (retries, not a deadline).
i=0
while kill -0 "$MPID" 2>/dev/null && [ $i -lt 200 ]; do
  ctl tone on --freq 660 --amp 0.05 >/dev/null
  sleep 0.05
  i=$((i + 1))
done
if wait "$MPID" && grep -q '^{"event":"tone","on":true,.*"freq":660.0' "$DIR/monitor.out"; then
  echo "ok: monitor over TCP with the token"
else
  fail "monitor over TCP printed: $(cat "$DIR/monitor.out")"
fi
MPID=
if grep -q "$TOKEN" "$DIR/sonod.log"; then fail "the token is in sonod's log"; else echo "ok: token not logged"; fi

check "shutdown over TCP" 0 '^sonod is shutting down$' -C "$TCP" -k "$DIR/token" shutdown
i=0
while kill -0 "$DPID" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
if wait "$DPID"; then echo "ok: sonod exited with 0"; else fail "sonod exit status $?"; fi
DPID=

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
