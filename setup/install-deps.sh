#!/usr/bin/env bash
# Installs every build, test and analysis dependency of ordertune from Debian 12 packages.
# Idempotent: re-running installs nothing new. Nothing is downloaded from outside Debian.
#
# Why libopenblas0-pthread: Debian's LibTorch calls the BLAS behind the libblas.so.3
# alternative, which is the reference BLAS unless OpenBLAS is installed (a 1024^3 matmul runs
# at ~6 GFLOP/s instead of ~95 GFLOP/s on one core; see src/DESIGN.md).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates
  # sweep binary: LibTorch (CPU), MPI, parallel HDF5, config/CLI/logging
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  # prepare binary: sentencepiece (library, trainer and the spm_* tools used in benchmarks)
  libsentencepiece-dev sentencepiece
  # tests (clang-format: the formatting check, tests/layout/clang_format.sh)
  catch2 clang-format
  # analysis
  python3 python3-h5py python3-numpy python3-pandas python3-scipy python3-matplotlib python3-pytest
  # benchmarks: the same LibTorch kernels from Python (tests/bench/train_bench.py)
  python3-torch
  # Slurm tests (tests/slurm/): a throwaway single-node cluster runs jobscripts/*.sbatch.
  # Slurm 22.05. `srun --mpi=pmix` (Slurm's mpi_pmix_v4 plugin) dlopens the unversioned
  # pmix2/lib/libpmix.so, which only libpmix-dev ships (libopenmpi-dev pulls it in too). munge
  # comes as a dependency but is not used (the test cluster has auth/none).
  slurmctld slurmd slurm-client libpmix-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
