#!/bin/sh
# Installs every Debian package sonod needs to build, run and test.
# Idempotent and non-interactive; run as root or through sudo.
set -eu

PACKAGES="
  build-essential meson ninja-build pkg-config
  libjack-jackd2-dev jackd2 libuv1-dev libmsgpack-dev check libsndfile1-dev
  libsystemd-dev libcsound64-dev csound libclang-rt-19-dev
  clang-19 sox systemd man-db
  amsynth dragonfly-reverb-vst dpf-plugins-vst zynaddsubfx-vst
"

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
