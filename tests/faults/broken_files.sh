#!/usr/bin/env bash
# Fault: corrupt and mismatched files given to ordertune.
#   (a) a results file truncated to half its size, to `sweep --results`, `status` and `results`;
#   (b) as the config's data.cache of a sweep: a data cache truncated to half its size; one with
#       8 bytes inverted in the middle of the file (today an index of offsets,
#       tasks/mlm/train/en/input_ids_offsets); one with 8 bytes inverted in the middle of mnli's
#       training token ids;
#   (c) a data cache given as `sweep --results`, to `status` and to `results`;
#   (d) a results file given as the config's data.cache of a sweep;
#   (e) a directory and /dev/null as `sweep --results`, to `status`, `results`, and as
#       `score --predictions` / `--labels`.
# Each case asserts (issue 16): the command ends within 60 s with a non-zero exit, exactly one
# line on stderr (the two inverted-bytes caches: found when the sweep first reads that split, since
# a rank's start-up reads the cache's metadata only, so the error follows the sweep's progress
# lines and is the last line), no stack trace (c10::Error, terminate called, frame #), no HDF5 error stack
# (HDF5-DIAG), the line names the bad file (src/DESIGN.md item 8), and every input file is
# unchanged (md5 before and after). The sweeps run as one process (an MPI singleton: no mpirun
# notices on stderr). /dev/null must stay a character device, and no /dev/null.lock may be left
# (removed if made). Every case runs and prints ok or FAIL with its stderr; the test fails if any
# case failed.
# Cost: a prepare and a 1-rank sweep of a 4-node plan, then refusals: about 20 s on 2 cores (a
# corrupt cache that goes undetected costs a sweep of the 4-node plan, a few seconds).
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'pkill -9 -f "ordertune sweep --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
M="$S/tests/fixtures/xtreme-mock"
. "$S/tests/e2e/lib/small_demo.sh"
. "$S/tests/e2e/lib/faults.sh"
tiny_plan_config "$S" demo.toml
cfg="$work/demo.toml"
"$OT" prepare --config "$cfg" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
mpirun -np 1 "$OT" sweep --config "$cfg" --results good.h5 > good.txt 2>&1 \
  || { tail -20 good.txt; fail "the sweep that makes a results file failed"; }
[ -s cache/demo.h5 ] || fail "prepare wrote no cache/demo.h5"
failures=0

# run_case WHAT NAME FILE... -- COMMAND...: runs COMMAND (60 s at most) and checks the rules;
# the error line must name NAME (the bad file: src/DESIGN.md item 8), and FILE... must be
# unchanged.
run_case() {
  local what=$1 name=$2; shift 2
  local files=() sums=() f rc=0
  while [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  for f in "${files[@]}"; do sums+=("$(md5sum "$f")"); done
  timeout -k 5 60 "$@" > out.txt 2> err.txt || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL $what: still running after 60 s (killed)"; echo "     stderr: $(tail -3 err.txt)"
    failures=$((failures + 1)); return 0
  fi
  expect_refusal "$what" err.txt "$rc" "$name" "${sums[@]}" || failures=$((failures + 1))
}
# with_cache PATH OUT: the test's config with data.cache = PATH.
with_cache() {
  sed -e "s|^cache = .*|cache = \"$1\"|" demo.toml > "$2"
  grep -q "^cache = \"$1\"\$" "$2" || fail "could not set data.cache in $2"
}

# (a) a results file cut to half its size (as by a full disk or a partial copy).
head -c $(( $(stat -c %s good.h5) / 2 )) good.h5 > half.h5
run_case "(a) sweep --results <results file cut to half>" half.h5 half.h5 cache/demo.h5 -- \
  "$OT" sweep --config "$cfg" --results half.h5
run_case "(a) status <results file cut to half>" half.h5 half.h5 -- "$OT" status half.h5
run_case "(a) results <results file cut to half>" half.h5 half.h5 -- "$OT" results half.h5

# (b) a data cache cut to half its size; one with 8 bytes inverted in its middle.
head -c $(( $(stat -c %s cache/demo.h5) / 2 )) cache/demo.h5 > cache-half.h5
# invert_8_bytes FILE [DATASET]: inverts the 8 bytes in the middle of FILE, or in the middle of
# DATASET's storage in FILE (contiguous).
invert_8_bytes() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, h5py
path = sys.argv[1]
if len(sys.argv) > 2:
    with h5py.File(path, "r") as f:
        d = f[sys.argv[2]]
        start, size = d.id.get_offset(), d.id.get_storage_size()
else:
    start, size = 0, __import__("os").path.getsize(path)
with open(path, "r+b") as f:
    f.seek(start + size // 2)
    b = bytes(x ^ 0xFF for x in f.read(8))
    f.seek(start + size // 2)
    f.write(b)
PY
}
cp cache/demo.h5 cache-flipped.h5
invert_8_bytes cache-flipped.h5
cp cache/demo.h5 cache-ids-flipped.h5
invert_8_bytes cache-ids-flipped.h5 tasks/mnli/train/en/input_ids
cmp -s cache/demo.h5 cache-flipped.h5 && fail "the flipped cache equals the cache"
cmp -s cache/demo.h5 cache-ids-flipped.h5 && fail "the flipped cache equals the cache"
with_cache "$work/cache-half.h5" half-cache.toml
with_cache "$work/cache-flipped.h5" flipped-cache.toml
with_cache "$work/cache-ids-flipped.h5" ids-flipped-cache.toml
run_case "(b) sweep with a data cache cut to half" cache-half.h5 cache-half.h5 -- \
  "$OT" sweep --config "$work/half-cache.toml" --results b1.h5
ALLOW_LOG_LINES=1 run_case "(b) sweep with 8 bytes inverted in the middle of the data cache" cache-flipped.h5 cache-flipped.h5 -- \
  "$OT" sweep --config "$work/flipped-cache.toml" --results b2.h5
ALLOW_LOG_LINES=1 run_case "(b) sweep with 8 bytes inverted in the middle of mnli's training token ids" cache-ids-flipped.h5 cache-ids-flipped.h5 -- \
  "$OT" sweep --config "$work/ids-flipped-cache.toml" --results b3.h5

# (c) a data cache where a results file is expected.
cp cache/demo.h5 cache-copy.h5
run_case "(c) sweep --results <data cache>" cache-copy.h5 cache-copy.h5 cache/demo.h5 -- \
  "$OT" sweep --config "$cfg" --results cache-copy.h5
run_case "(c) status <data cache>" cache-copy.h5 cache-copy.h5 -- "$OT" status cache-copy.h5
run_case "(c) results <data cache>" cache-copy.h5 cache-copy.h5 -- "$OT" results cache-copy.h5

# (d) a results file where the data cache is expected.
cp good.h5 results-copy.h5
with_cache "$work/results-copy.h5" results-as-cache.toml
run_case "(d) sweep with a results file as data.cache" results-copy.h5 results-copy.h5 good.h5 -- \
  "$OT" sweep --config "$work/results-as-cache.toml" --results d.h5

# (e) a directory and /dev/null where a file is expected.
mkdir adir
lock_before=$([ -e /dev/null.lock ] && echo yes || echo no)
run_case "(e) sweep --results <directory>" adir cache/demo.h5 -- \
  "$OT" sweep --config "$cfg" --results adir
[ -z "$(ls -A adir)" ] || { echo "FAIL (e) sweep --results <directory> wrote into it: $(ls -A adir)"; failures=$((failures + 1)); }
run_case "(e) sweep --results /dev/null" /dev/null cache/demo.h5 -- \
  "$OT" sweep --config "$cfg" --results /dev/null
[ -c /dev/null ] || fail "/dev/null is no longer a character device (restore: rm -f /dev/null; mknod -m 666 /dev/null c 1 3)"
if [ "$lock_before" = no ] && [ -e /dev/null.lock ]; then
  rm -f /dev/null.lock
  echo "FAIL (e) sweep --results /dev/null created /dev/null.lock (removed)"; failures=$((failures + 1))
fi
for target in adir /dev/null; do
  run_case "(e) status $target" "$target" -- "$OT" status "$target"
  run_case "(e) results $target" "$target" -- "$OT" results "$target"
  run_case "(e) score --predictions $target" "$target" "$M/labels/xnli/test-de.tsv" -- \
    "$OT" score --task xnli --lang de --predictions "$target" --labels "$M/labels/xnli/test-de.tsv"
  run_case "(e) score --labels $target" "$target" "$M/predictions/xnli/test-de.tsv" -- \
    "$OT" score --task xnli --lang de --predictions "$M/predictions/xnli/test-de.tsv" --labels "$target"
done
[ -c /dev/null ] || fail "/dev/null is no longer a character device"

[ "$failures" -eq 0 ] || fail "$failures case(s) broke the rules (see above)"
echo "broken_files: ok"
