#!/usr/bin/env bash
# README command (1): install dependencies, build, and run the main job on the built-in demo.
# Today the pipeline runs as far as it goes: the demo data is generated and tokenized into the
# data cache (cache/demo.h5). The sweep itself (training, evaluation, results file, report)
# comes next; see README.md "Status".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash setup/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
start=$(date +%s)
cache=$(build/ordertune prepare --config configs/demo.toml)
echo
echo "demo data cache ready: ${cache} ($(( $(date +%s) - start )) s)"
echo "next step (not built yet): mpirun -np 2 build/ordertune sweep --config configs/demo.toml"
