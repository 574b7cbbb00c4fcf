#!/usr/bin/env bash
# README command (2): install dependencies, build, and run the test suite with CTest, in both
# configurations, one after the other (CI runs exactly this, .ci/run; stops at the first failure):
#   default  Debian's LibTorch 1.13 (CPU), C++17, into <checkout>/build: the whole suite;
#   cuda     the pinned torch wheel's LibTorch 2.x with CUDA and NCCL (.venv/,
#            setup/install-torch-wheel.sh), C++20, warnings as errors, into <checkout>/build-cuda
#            (`cmake --preset cuda`, README "Running a study" step 3): the whole suite but the
#            tests that do not depend on the build's LibTorch (CUDA_SKIPS below).
# Runs from any directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
bash setup/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
default_end=$(date +%s)

# Labels the cuda configuration does not run again: they check the tree and the Python analysis,
# which no build changes (layout, analysis), or the Slurm job scripts around the executable, which
# the default configuration has run (slurm).
CUDA_SKIPS='^(layout|analysis|slurm)$'
bash setup/install-torch-wheel.sh
cmake --preset cuda
cmake --build build-cuda -j"$(nproc)"
ctest --test-dir build-cuda --output-on-failure -j"$(nproc)" --label-exclude "$CUDA_SKIPS"
end=$(date +%s)
echo "run-tests: default configuration $((default_end - start)) s, cuda configuration $((end - default_end)) s"
