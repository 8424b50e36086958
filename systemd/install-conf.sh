#!/bin/sh
# meson install script: puts the example sonod.conf in place only when the
# directory has none, so reinstalling keeps an administrator's settings.
#   install-conf.sh SOURCE-FILE DESTINATION-DIRECTORY
set -eu
dir="${DESTDIR:-}$2"
if [ -e "$dir/sonod.conf" ]; then
  echo "Keeping $dir/sonod.conf"
  exit 0
fi
mkdir -p "$dir"
cp "$1" "$dir/sonod.conf"
chmod 0644 "$dir/sonod.conf"
echo "Installing $1 to $dir"
