#!/usr/bin/env bash
# README command (2): install dependencies, build, and run the whole test suite with CTest.
# CI runs exactly this (.ci/run). Runs from any directory; builds into <checkout>/build
# (Debian's LibTorch 1.13, C++17). The LibTorch 2.x configuration has its own script,
# setup/run-tests-cuda.sh (README, Tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash setup/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
