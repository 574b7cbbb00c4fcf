#!/usr/bin/env bash
# Benchmark: write and read bandwidth of an XLM-R-large-sized encoder checkpoint (560M
# parameters, 2.24 GB fp32) in the sweep's results file, against dd on the same disk, side by
# side (issue 5's target: ratio >= 0.8). Writes end with fsync and reads start from a file
# evicted from the page cache (posix_fadvise DONTNEED; dd's oflag/iflag=nocache), so both sides
# measure the disk, not memory. Printed, not asserted.
# Usage: bash tests/bench/checkpoint_bench.sh [dir] [extra `ordertune bench checkpoint` options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dir=${1:-$(mktemp -d)}; shift || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
json=$(build/ordertune bench checkpoint --dir "$dir" "$@")
bytes=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes"])' "$json")
dd_file="$dir/dd-bench.bin"
mb=$(( (bytes + 1048575) / 1048576 ))
best() { sort -n | head -1; }
dd_write=$(for i in 1 2; do
  s=$(date +%s.%N); dd if=/dev/zero of="$dd_file" bs=1M count="$mb" conv=fdatasync oflag=nocache status=none
  awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN { print a - b }'; done | best)
dd_read=$(for i in 1 2; do
  dd if="$dd_file" iflag=nocache count=0 status=none  # evict from the page cache
  s=$(date +%s.%N); dd if="$dd_file" of=/dev/null bs=1M status=none
  awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN { print a - b }'; done | best)
rm -f "$dd_file"
/usr/bin/python3 - "$json" "$dd_write" "$dd_read" "$mb" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); dd_w, dd_r, mb = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
dd_w_mb, dd_r_mb = mb * 1.048576 / dd_w, mb * 1.048576 / dd_r
print(f"checkpoint: {r['params']:,} parameters, {r['bytes'] / 1e9:.2f} GB {r['dtype']}")
print(f"write: results file {r['write_mb_s']:8.1f} MB/s   dd {dd_w_mb:8.1f} MB/s   ratio {r['write_mb_s'] / dd_w_mb:.2f}")
print(f"read:  results file {r['read_mb_s']:8.1f} MB/s   dd {dd_r_mb:8.1f} MB/s   ratio {r['read_mb_s'] / dd_r_mb:.2f}")
PY
