#!/usr/bin/env bash
# README command (1): install dependencies, build, and run the main job on the built-in demo:
# generate and tokenize the demo suite (cache/demo.h5), then sweep every order of length 0-2 over
# mnli, squad_v1 and hellaswag with 2 seeds on 2 MPI ranks into results/demo.h5 (a re-run
# resumes or, when finished, returns at once; jobscripts/local.sh), write the tidy table and the
# analysis report (reports/demo/report.md), and print their paths.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash setup/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The two executables only (the tests build with command (2)).
cmake --build build -j"$(nproc)" --target ordertune ordertune-prepare
start=$(date +%s)
# prepare (the data cache), then the sweep on 2 ranks, then status: the workstation job script.
bash jobscripts/local.sh configs/demo.toml 2
mkdir -p reports
/usr/bin/python3 -m analysis table results/demo.h5 --out reports/demo.csv
/usr/bin/python3 -m analysis report results/demo.h5 --out reports/demo > /dev/null
echo
echo "demo finished in $(( $(date +%s) - start )) s"
echo "results file: results/demo.h5 (HDF5; see README.md, 'Results file')"
echo "table:        reports/demo.csv ($(( $(wc -l < reports/demo.csv) - 1 )) rows: seed,order,target,language,split,metric,value)"
echo "report:       reports/demo/report.md (order effects, figures)"
