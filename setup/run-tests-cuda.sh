#!/usr/bin/env bash
# The second configuration's tests: the pinned torch wheel's LibTorch 2.x with CUDA and NCCL
# (.venv/, setup/install-torch-wheel.sh), C++20, warnings as errors, built into
# <checkout>/build-cuda (`cmake --preset cuda`, README "Running a study" step 3), and the CPU test
# suite against it (the wheel's LibTorch runs without a GPU), but for the labels that do not
# depend on the build (CUDA_SKIPS: the tree, the Python analysis and the Slurm job scripts, which
# README command (2) runs). Not yet part of README command (2) and CI: see README, Tests.
# Runs from any directory; needs setup/install-deps.sh to have run (MPI, HDF5, sentencepiece).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
# hf (the transformers references, README "Checked against Hugging Face") runs here: it needs
# .venv's transformers, which only this configuration installs.
CUDA_SKIPS='^(layout|analysis|slurm)$'
bash setup/install-torch-wheel.sh
# -O2 without -g (RelWithDebInfo's flags less the debug info, which the tests do not need and
# which costs build time on LibTorch 2.x's headers); not Release: -O3 trips GCC 12's false
# -Wrestrict / -Wstringop-overflow warnings inside libstdc++, errors under the preset's -Werror.
cmake --preset cuda -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG"
cmake --build build-cuda -j"$(nproc)"
ctest --test-dir build-cuda --output-on-failure -j"$(nproc)" --label-exclude "$CUDA_SKIPS"
echo "run-tests-cuda: $(($(date +%s) - start)) s"
