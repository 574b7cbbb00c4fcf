#!/usr/bin/env bash
# Benchmark: the busy fraction of the demo sweep on N ranks (default 4; target >= 0.9).
# Usage: bash tests/bench/sweep_busy.sh [ranks] [config]   (from the checkout, after a build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n=${1:-4}; cfg=${2:-configs/demo.toml}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)/busy.h5
build/ordertune prepare --config "$cfg" > /dev/null
mpirun -np "$n" --oversubscribe build/ordertune sweep --config "$cfg" --results "$out" --threads 1 2> /dev/null
/usr/bin/python3 tests/bench/sweep_busy.py "$out" "$n"
