#!/bin/sh
# Installs what sonod needs, builds it, and runs the daemon in the
# foreground: on JACK when a server answers, else on the built-in device.
# Extra arguments go to sonod (see ./build/daemon/sonod --help).
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d build ] || meson setup build
ninja -C build
exec ./build/daemon/sonod -v "$@"
