#!/bin/sh
# hostile-env.sh BUILD COMMAND [ARGS...] - runs COMMAND (meson test, usually)
# as on a user's machine that is nothing like a clean CI box, and fails if
# COMMAND fails or if the tests touched the user's own sonod:
#
#   - the locale is de_DE.UTF-8 (a decimal comma; compiled into a private
#     LOCPATH, so no root is needed, only the locales package's sources) and
#     the time zone Pacific/Kiritimati (UTC+14: "today" is another date);
#   - HOME is full of things: VST files that are no test's business in
#     ~/.vst and ~/.lxvst (a real plugin, a text file, an empty file, a
#     dangling link), a ~/.lv2 bundle, ~/.config/sonod (sonod.conf, a TCP
#     token), ~/.csoundrc, ~/.jackdrc; VST_PATH, LXVST_PATH and LV2_PATH
#     point there; umask 077;
#   - every variable sonod or sonoctl reads is set, to something a test must
#     not use: SONOD_SOCKET, SONOD_TOKEN_FILE, SONOD, SONOD_CSD_RENDER,
#     SONOD_VST_SCAN (a scanner that answers nonsense), SONOD_PLUGIN_HOST
#     (a plugin host that is not ours), STATE_DIRECTORY,
#     NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS/LISTEN_PID, JOURNAL_STREAM,
#     and Csound's SFDIR, SSDIR, SADIR, INCDIR;
#   - sonod is installed as a service: /etc/sonod/sonod.conf asks for JACK,
#     TCP on 7700 and a state directory; and the system plugin folders hold
#     more than Debian's packages put there (/usr/lib/lxvst, and
#     /usr/local/lib/vst and lxvst: other plugins, a text file, an empty
#     file).  These are overlays in a private mount namespace, seen only by
#     COMMAND, so they need root; without it they are left out (said so);
#   - the user runs JACK and sonod: a jackd (dummy driver) that is the
#     default server ($JACK_DEFAULT_SERVER; not literally "default", which
#     would be every process's on this machine), and BUILD's sonod on it as
#     JACK client "sonod", listening on $XDG_RUNTIME_DIR/sonod.sock and,
#     when it is free, on TCP port 7700.  At the end both must still run and
#     no test may have connected to that sonod.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 BUILD COMMAND [ARGS...]" >&2; exit 2; }
# Into a mount namespace of our own (unshare makes its mounts private).
if [ -z "${HOSTILE_ENV_NS:-}" ] && [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  HOSTILE_ENV_NS=1 exec unshare -m "$0" "$@"
fi
BUILD=$(cd "$1" && pwd)
shift
SONOD_EXE=$BUILD/daemon/sonod
[ -x "$SONOD_EXE" ] || { echo "hostile-env: no $SONOD_EXE" >&2; exit 2; }

T=$(mktemp -d /tmp/sonod-hostile-XXXXXX)
JPID=
UPID=
MOUNTS=
cleanup() {
  [ -n "$UPID" ] && kill "$UPID" 2>/dev/null && wait "$UPID" 2>/dev/null
  [ -n "$JPID" ] && kill "$JPID" 2>/dev/null && wait "$JPID" 2>/dev/null
  for m in $MOUNTS; do umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "hostile-env: $*"; }

# ---- locale and time zone
mkdir "$T/locale"
localedef -i de_DE -f UTF-8 "$T/locale/de_DE.UTF-8" >"$T/localedef.log" 2>&1 || {
  cat "$T/localedef.log"
  say "cannot build the de_DE.UTF-8 locale (is the locales package installed?)"
  exit 1
}
export LOCPATH="$T/locale" LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 LANGUAGE=de
[ "$(python3 -c 'import locale; locale.setlocale(locale.LC_ALL, ""); print(locale.localeconv()["decimal_point"])')" = "," ] ||
  { say "the de_DE.UTF-8 locale does not take effect"; exit 1; }
[ -f /usr/share/zoneinfo/Pacific/Kiritimati ] || { say "no tzdata"; exit 1; }
export TZ=Pacific/Kiritimati

# ---- HOME
H=$T/home
mkdir -p "$H/.vst/more" "$H/.lxvst" "$H/.lv2/junk.lv2" "$H/.config/sonod" "$H/.local/share" \
  "$H/.cache" "$T/run" "$T/state" "$T/tmp" "$T/csound" "$T/bin"
chmod 700 "$T/run"
for p in /usr/lib/vst/Kars-vst.so /usr/lib/vst/amsynth_vst.so; do
  [ -f "$p" ] && ln -s "$p" "$H/.vst/more/$(basename "$p")"
done
echo "not a plugin" >"$H/.vst/readme.so"
: >"$H/.vst/empty.so"
ln -s /nonexistent/gone.so "$H/.vst/dangling.so"
[ -f /usr/lib/lxvst/DragonflyHallReverb-vst.so ] &&
  cp /usr/lib/lxvst/DragonflyHallReverb-vst.so "$H/.lxvst/MyHall.so"
echo "# not turtle" >"$H/.lv2/junk.lv2/manifest.ttl"
printf 'backend = jack\nsocket = /nonexistent/sonod.sock\ntcp = 127.0.0.1:7700\nverbose = 2\n' \
  >"$H/.config/sonod/sonod.conf"
(umask 077; echo 0123456789abcdef0123456789abcdef >"$H/.config/sonod/tcp-token")
printf -- '-odac -iadc -+rtaudio=jack -M0 --sample-rate=22050 -k 100 -b 4096 -B 8192 -m0\n' \
  >"$H/.csoundrc"
echo "/usr/bin/jackd -d alsa -d hw:99" >"$H/.jackdrc"
export HOME="$H" XDG_CONFIG_HOME="$H/.config" XDG_DATA_HOME="$H/.local/share" \
  XDG_CACHE_HOME="$H/.cache" XDG_RUNTIME_DIR="$T/run" TMPDIR="$T/tmp"
export VST_PATH="$H/.vst" LXVST_PATH="$H/.lxvst" LV2_PATH="$H/.lv2"
export DISPLAY=:99

# ---- /etc and the system plugin folders (root, in our own mount namespace)
# overlay DIR: DIR as it is, with whatever is written into it from now on
# kept in memory (a tmpfs holds the upper layers).
overlay() {
  n=$(printf '%s' "$1" | tr / _)
  mkdir "$T/ovl/$n" "$T/ovl/$n.work"
  mount -t overlay "hostile$n" -o "lowerdir=$1,upperdir=$T/ovl/$n,workdir=$T/ovl/$n.work" "$1"
  MOUNTS="$1 $MOUNTS"
}
if [ "${HOSTILE_ENV_NS:-}" = 1 ]; then
  mkdir "$T/ovl"
  mount -t tmpfs hostile "$T/ovl"
  MOUNTS="$T/ovl"
  overlay /etc
  mkdir -p /etc/sonod
  printf 'backend = jack\ntcp = 127.0.0.1:7700\ntcp-token-file = /etc/sonod/tcp-token\nstate-dir = %s\nverbose = 2\n' \
    "$T/state" >/etc/sonod/sonod.conf
  (umask 077; echo fedcba9876543210fedcba9876543210 >/etc/sonod/tcp-token)
  mkdir -p /usr/lib/lxvst /usr/local/lib
  overlay /usr/lib/lxvst
  overlay /usr/local/lib
  mkdir -p /usr/local/lib/vst /usr/local/lib/lxvst
  for p in MaGigaverb-vst.so ZynReverb.so; do
    [ -f "/usr/lib/vst/$p" ] && cp "/usr/lib/vst/$p" "/usr/lib/lxvst/Local$p"
  done
  [ -f /usr/lib/vst/Nekobi-vst.so ] && cp /usr/lib/vst/Nekobi-vst.so /usr/local/lib/vst/
  echo "not a plugin" >/usr/lib/lxvst/README.so
  : >/usr/local/lib/lxvst/empty.so
  system=" /etc/sonod, /usr/lib/lxvst, /usr/local/lib/{vst,lxvst} filled;"
else
  system=" not root: /etc and the system plugin folders left as they are;"
fi

# ---- what sonod and sonoctl read
for tool in sonod sonod-csd-render sonod-vst-scan sonod-plugin-host; do
  printf '#!/bin/sh\necho "the user'"'"'s own %s, not the one under test" >&2\necho "sonod-vst-scan 999"\nexit 3\n' \
    "$tool" >"$T/bin/$tool"
  chmod 755 "$T/bin/$tool"
done
echo "junk from another version" >"$T/state/session.sonod"
export SONOD_SOCKET="$T/run/sonod.sock" SONOD_TOKEN_FILE="$H/.config/sonod/tcp-token" \
  SONOD="$T/bin/sonod" SONOD_CSD_RENDER="$T/bin/sonod-csd-render" \
  SONOD_VST_SCAN="$T/bin/sonod-vst-scan" SONOD_PLUGIN_HOST="$T/bin/sonod-plugin-host"
export STATE_DIRECTORY="$T/state" NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=100000 \
  LISTEN_FDS=1 LISTEN_PID=1 JOURNAL_STREAM=8:12345
export SFDIR="$T/csound" SSDIR="$T/csound" SADIR="$T/csound" INCDIR="$T/csound"
umask 077

# ---- the user's jackd and sonod
export JACK_DEFAULT_SERVER="sonod-hostile-$$"
export JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
jackd -n "$JACK_DEFAULT_SERVER" -r -d dummy -r 48000 -p 256 >"$T/jackd.log" 2>&1 &
JPID=$!
user_sonod() {
  # Its own environment, not the one above: a daemon the user started.
  env -u STATE_DIRECTORY -u NOTIFY_SOCKET -u WATCHDOG_USEC -u LISTEN_FDS -u LISTEN_PID \
    -u SONOD_VST_SCAN -u SONOD_PLUGIN_HOST "$SONOD_EXE" --no-config -vv --backend jack --jack-name sonod \
    --socket "$T/run/sonod.sock" "$@" >"$T/user-sonod.log" 2>&1 &
  UPID=$!
  # Up means "running:" logged (after every listener) by a live process:
  # the Unix socket appears before TCP is tried, and a taken TCP port ends
  # the daemon after that.
  i=0
  while ! grep -q ' running: backend' "$T/user-sonod.log" && kill -0 "$UPID" 2>/dev/null &&
        [ $i -lt 1000 ]; do
    sleep 0.01
    i=$((i + 1))
  done
  sleep 0.1
  kill -0 "$UPID" 2>/dev/null && grep -q ' running: backend' "$T/user-sonod.log"
}
jack_wait -s "$JACK_DEFAULT_SERVER" -w -t 10 >/dev/null 2>&1 ||
  { cat "$T/jackd.log"; say "the user's jackd did not start"; exit 1; }
# TCP 7700 may be taken (by another run of this script, say): then without.
user_sonod --tcp 127.0.0.1:7700 || user_sonod ||
  { cat "$T/user-sonod.log"; say "the user's sonod did not start"; exit 1; }
grep -q 'listening on tcp' "$T/user-sonod.log" && tcp=" and tcp://127.0.0.1:7700" || tcp=""
say "LC_ALL=$LC_ALL TZ=$TZ HOME=$HOME;$system the user's sonod (pid $UPID) on JACK server $JACK_DEFAULT_SERVER, unix:$SONOD_SOCKET$tcp"

status=0
"$@" || status=$?

if ! kill -0 "$UPID" 2>/dev/null; then
  say "FAIL: the user's sonod is gone"
  cat "$T/user-sonod.log"
  status=1
elif grep -q 'client [0-9]* connected' "$T/user-sonod.log"; then
  say "FAIL: a test talked to the user's sonod:"
  grep 'client [0-9]* connected\|request\|op ' "$T/user-sonod.log" | head -n 20
  status=1
fi
kill -0 "$JPID" 2>/dev/null || { say "FAIL: the user's jackd is gone"; status=1; }
exit $status
