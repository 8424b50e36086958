# lib.sh - what the sonoctl shell tests share; sourced, not run:
#
#   . "$(dirname "$0")/lib.sh"
#   lib_init NAME         DIR (removed at exit), SOCK, FAILS
#   start_sonod ARGS...   sonod in the background (DPID), up when it returns
#   check / ctl / fail    below
#
# The tests set SONOCTL first; CTL_TIMEOUT (seconds, default 30) is the
# --timeout of every sonoctl call, CHECK_SHOW_EXIT=1 adds the exit status
# to the "ok:" lines.  Plain sh: the tests run under whatever sh is.

# lib_init NAME: a private directory /tmp/NAME-XXXXXX for the socket, logs
# and files, removed with any daemon or monitor still running at exit.
lib_init() {
  DIR=$(mktemp -d "/tmp/$1-XXXXXX")
  SOCK=$DIR/sonod.sock
  FAILS=0
  trap cleanup EXIT
}

cleanup() {
  [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null
  [ -n "${MPID:-}" ] && kill "$MPID" 2>/dev/null
  rm -rf "$DIR"
}

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

# check NAME EXPECTED-STATUS PATTERN COMMAND... : runs sonoctl, checks the
# exit status and that stdout+stderr matches the extended regex PATTERN.
check() {
  name=$1 want=$2 pattern=$3
  shift 3
  out=$("$SONOCTL" --socket "$SOCK" --timeout "${CTL_TIMEOUT:-30}" "$@" 2>&1)
  got=$?
  if [ "$got" != "$want" ]; then
    fail "$name: exit status $got, wanted $want; output: $out"
  elif ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
    fail "$name: output does not match /$pattern/: $out"
  elif [ "${CHECK_SHOW_EXIT:-0}" = 1 ]; then
    echo "ok: $name (exit $got)"
  else
    echo "ok: $name"
  fi
}

ctl() {
  "$SONOCTL" --socket "$SOCK" --timeout "${CTL_TIMEOUT:-30}" "$@"
}

# spawn_sonod ARGS...: runs $SONOD ARGS in the background, its output in
# $DIR/sonod.log, and waits up to 5 s for it to answer on $SOCK.  The file
# appears at bind(), a moment before sonod listens: a loaded machine once
# refused three requests in that moment.
# The daemon's file and plugin roots are $DIR (and $PLUGIN_DIR when set:
# the suite's built test plugins), its $HOME a folder in $DIR too: never
# the machine's.
spawn_sonod() {
  case "$HOME" in "$DIR"/*) home=$HOME ;; *) home=$DIR ;; esac
  HOME=$home "$SONOD" --file-root "$DIR" --plugin-path "$DIR" \
    ${PLUGIN_DIR:+--plugin-path "$PLUGIN_DIR"} "$@" >"$DIR/sonod.log" 2>&1 &
  DPID=$!
  i=0
  while [ $i -lt 500 ] && kill -0 "$DPID" 2>/dev/null &&
    ! { [ -S "$SOCK" ] && "$SONOCTL" --socket "$SOCK" --timeout 1 ping -c 1 -i 0 >/dev/null 2>&1; }; do
    sleep 0.01
    i=$((i + 1))
  done
}

# start_sonod ARGS...: spawn_sonod, and no test at all without the daemon.
start_sonod() {
  spawn_sonod "$@"
  [ -S "$SOCK" ] || { echo "sonod did not start"; cat "$DIR/sonod.log"; exit 1; }
}
