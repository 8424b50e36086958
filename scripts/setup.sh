#!/bin/sh
# Installs every Debian package sonod needs to build, run and test.
# Idempotent and non-interactive; run as root or through sudo.
#
#   --test-extras  also what a user's machine may hold besides (scripts/test.sh
#                  passes it): more plugin packages, which the tests must not
#                  be disturbed by, and the locale and time-zone data the
#                  hostile-environment run (tests/hostile-env.sh) uses.
set -eu

PACKAGES="
  build-essential meson ninja-build pkg-config
  libjack-jackd2-dev jackd2 libuv1-dev libmsgpack-dev check libsndfile1-dev
  libsystemd-dev libcsound64-dev csound libclang-rt-19-dev
  clang-19 sox systemd man-db
  amsynth dragonfly-reverb-vst dpf-plugins-vst zynaddsubfx-vst
  python3-msgpack python3-pytest python3-numpy
  liblilv-dev libserd-dev lv2-dev mda-lv2 x42-plugins
  iproute2
"
# iproute2: `ip`, with which tests/jack/test_jack_net.c joins two network
# namespaces by a veth pair (skipped without it).
# LV2: lilv (the host library), serd (its Turtle library: sessions keep a
# state's files by URI) and the LV2 headers; mda-lv2 and x42-plugins
# are the LV2 bundles the tests play (small, few dependencies).
# lsp-plugins-vst: about a hundred VST2 files in a subfolder of
# /usr/lib/vst.  zam-plugins (a 38 MB package): ZaMultiComp, whose
# parameters' short names repeat (tests/integration/test_plugin_meta.c,
# skipped without it).
EXTRAS="
  lsp-plugins-vst zam-plugins
  locales tzdata
"

case "${1:-}" in
  "") ;;
  --test-extras) PACKAGES="$PACKAGES $EXTRAS" ;;
  *) echo "usage: $0 [--test-extras]" >&2; exit 2 ;;
esac

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
