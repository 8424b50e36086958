#!/bin/sh
# Installs what sonod needs, builds it, and runs the daemon in the
# foreground: on JACK when a server answers, else on the built-in device.
# Extra arguments go to sonod (see ./build/daemon/sonod --help).
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d build ] || meson setup build
ninja -C build
# sonoctl is not installed by this script: say where it is.
echo "run.sh: sonoctl is ./build/clients/c/sonoctl; in another terminal:"
echo "          export PATH=\"$PWD/build/clients/c:\$PATH\"; sonoctl status"
echo "run.sh: starting sonod; its first lines name the backend it chose"
echo "        (the null device is silent: start jackd or PipeWire's JACK for sound)"
exec ./build/daemon/sonod -v "$@"
