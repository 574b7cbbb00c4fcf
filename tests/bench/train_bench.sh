#!/usr/bin/env bash
# train_bench.sh — training-step speed of ordertune's XLM-R against the Hugging Face formulation
# in PyTorch (tests/bench/train_bench.py), on one CPU core. Builds nothing.
#
# Runs:      `ordertune bench train` and train_bench.py alternately, PAIRS pairs (default 3), all
#            single-threaded (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1, --threads 1 /
#            torch.set_num_threads(1)); each pair also runs train_bench.py under the heap policy
#            that `ordertune bench train` sets for itself (glibc: no mmap, no trimming; see
#            bench.cpp), so the report separates that policy from the rest. Then a 1024^3 sgemm
#            through the same OpenBLAS: the machine's single-core peak right now (DESIGN.md
#            quotes ~95 GFLOP/s).
# Prints:    each run's JSON line, then the median C++/Python tokens/s ratios (wall clock, and
#            from process CPU time, which other processes on a shared machine disturb less) and
#            the fraction of the measured peak that each reaches.
# Resources: 1 core, ~1 GB of memory. Cost: 0.5-0.9 s per step at the default shape; 3 triples
#            of (2 warm-up + 8 timed) steps take ~3 minutes on an idle core.
#
# Usage: tests/bench/train_bench.sh [BUILD_DIR] [extra bench options, e.g. --layers 2 --seq 64]
#   Defaults: L=4 H=256 A=4 F=1024 V=8000 T=128 B=16, 8 labels, 2 warm-up + 8 timed steps.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
build="${1:-${ORDERTUNE_BUILD:-$source_dir/build}}"
shift || true
exe="$build/ordertune"
python=/usr/bin/python3  # Debian's interpreter: python3-torch 1.13, the same kernels as LibTorch
pairs="${PAIRS:-3}"
[[ -x "$exe" ]] || { echo "train_bench.sh: $exe not found; build it first (cmake --build $build --target ordertune)" >&2; exit 2; }

shape=(--layers 4 --hidden 256 --heads 4 --ffn 1024 --vocab 8000 --seq 128 --batch 16
       --labels 8 --steps 8 --warmup 2 --seed 0 "$@")
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "$pairs"); do
  "$exe" bench train "${shape[@]}" --threads 1 --json | tee "$out/cpp.$i.json"
  "$python" "$here/train_bench.py" "${shape[@]}" --threads 1 | tee "$out/py.$i.json"
  GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647 \
    "$python" "$here/train_bench.py" "${shape[@]}" --threads 1 | tee "$out/pyheap.$i.json"
done

"$python" - "$out" "$pairs" <<'EOF'
import json, statistics, sys, time
import torch

out, pairs = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
for _ in range(3):
    a @ b
rates = []
for _ in range(5):
    t = time.perf_counter()
    for _ in range(5):
        a @ b
    rates.append(5 * 2 * 1024**3 / (time.perf_counter() - t) / 1e9)
peak = statistics.median(rates)

def load(kind):
    return [json.load(open(f"{out}/{kind}.{i}.json")) for i in range(1, pairs + 1)]

cpp, py, pyheap = load("cpp"), load("py"), load("pyheap")
med = lambda runs, key: statistics.median(r[key] for r in runs)
print(f"single-core sgemm 1024^3 now: {peak:.1f} GFLOP/s (median of 5)")
for name, runs in (("C++ ordertune", cpp), ("PyTorch HF", py), ("PyTorch HF, same heap policy", pyheap)):
    g = med(runs, "gflop_s")
    print(f"{name:29s} {med(runs, 'tokens_per_s'):6.0f} tokens/s  {med(runs, 'step_ms'):6.1f} ms/step "
          f"({med(runs, 'step_cpu_ms'):6.1f} ms CPU)  {g:5.1f} GFLOP/s = {g / peak:.0%} of sgemm peak  "
          f"peak RSS {med(runs, 'peak_rss_mb'):.0f} MiB")
for name, ref in (("Python", py), ("Python with the same heap policy", pyheap)):
    ratio = statistics.median(c["tokens_per_s"] / p["tokens_per_s"] for c, p in zip(cpp, ref))
    cpu_ratio = statistics.median(p["step_cpu_ms"] / c["step_cpu_ms"] for c, p in zip(cpp, ref))
    print(f"C++/{name} tokens/s ratio, median of {pairs}: {ratio:.2f} (wall), {cpu_ratio:.2f} (CPU time)")
EOF
