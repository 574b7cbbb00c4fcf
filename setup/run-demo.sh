#!/usr/bin/env bash
# README command (1): install dependencies, build, and run the main job on the built-in demo:
# generate and tokenize the demo suite (cache/demo.h5), then sweep every order of length 0-2 over
# mnli, squad_v1 and hellaswag with 2 seeds on 2 MPI ranks into results/demo.h5 (a re-run
# resumes or, when finished, returns at once), and print the table's path and a summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash setup/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
start=$(date +%s)
cache=$(build/ordertune prepare --config configs/demo.toml)
echo "demo data cache ready: ${cache} ($(( $(date +%s) - start )) s)"
# Open MPI refuses to run as root unless told (containers, CI).
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun -np 2 --oversubscribe build/ordertune sweep --config configs/demo.toml
mkdir -p reports
build/ordertune results results/demo.h5 > reports/demo.csv
build/ordertune status results/demo.h5
echo
echo "demo finished in $(( $(date +%s) - start )) s"
echo "results file: results/demo.h5 (HDF5; see README.md, 'Results file')"
echo "table:        reports/demo.csv ($(( $(wc -l < reports/demo.csv) - 1 )) rows: seed,order,target,language,metric,value)"
