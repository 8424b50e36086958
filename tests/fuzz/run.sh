#!/bin/sh
# Runs one libFuzzer harness over the committed seeds without writing into
# them: new inputs go to SCRATCH (created), findings to SCRATCH/../NAME-*.
#   run.sh HARNESS SCRATCH SEEDS [libFuzzer options...]
set -eu
bin=$1 scratch=$2 seeds=$3
shift 3
mkdir -p "$scratch"
exec "$bin" -artifact_prefix="$scratch-" "$@" "$scratch" "$seeds"
