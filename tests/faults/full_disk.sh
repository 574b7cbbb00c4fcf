#!/usr/bin/env bash
# Fault: a full disk, as a file-size limit (`ulimit -f`, set for the sweep's rank alone: mpirun
# and Open MPI's files are not limited) on a 1-rank sweep of a 4-node plan (tiny_plan_config).
# Writing past the limit fails with EFBIG (ordertune must ignore SIGXFSZ, which would kill it).
#   snapshot  the limit lies above the results file's whole size and below a resume snapshot's
#             (at least 3 encoders: weights and AdamW's two moments): SIGUSR1 once 2 nodes are
#             done, and the snapshot written at the stop fails.
#   results   the limit lies at half the results file's size: creating the results file fails
#             (its size is fixed when it is created: every dataset is allocated then).
# The limits are computed from a reference sweep's files (the results file's size, and the
# encoder's size from /checkpoints/weights), not hard-coded.
# Each case asserts: the job ends within 60 s, not killed by a signal (SIGXFSZ); exactly one
# error or warning line from ordertune, naming the file that could not be written; no stack
# trace and no HDF5 error stack; no temporary files left (FILE.resume/*.tmp-*, FILE.creating);
# results: a non-zero exit and no results file; snapshot: exit 0 (a snapshot is what a re-run
# would resume from, not a result: its failure is one warning, the stop is clean, and the re-run
# restarts that node from its first step), and the results file still reads with
# `ordertune status` / `results`. Then the same command without the limit completes
# and gives the uninterrupted table.
# Cost: 3 sweeps of a 4-node plan on 1 rank (two cut short) and 2 re-runs: about 30 s on 2 cores.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'pkill -9 -f "ordertune sweep --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
. "$S/tests/e2e/lib/small_demo.sh"
. "$S/tests/e2e/lib/wait.sh"
. "$S/tests/e2e/lib/faults.sh"
tiny_plan_config "$S" demo.toml 10  # nodes of 70 steps: the signal comes while one trains
cfg="$work/demo.toml"
"$OT" prepare --config "$cfg" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
# sweep FILE [KIB]: the 1-rank sweep, its rank limited to files of KIB KiB when given.
sweep() {
  if [ -n "${2:-}" ]; then
    mpirun -np 1 bash -c 'ulimit -f "$0" && exec "$@"' "$2" "$OT" sweep --config "$cfg" --results "$1" --progress lines
  else
    mpirun -np 1 "$OT" sweep --config "$cfg" --results "$1" --progress lines
  fi
}
# error_lines LOG: ordertune's error and warning lines (not its info lines, not Open MPI's).
error_lines() { grep -E '^ordertune: |^\[ordertune r[0-9]+ [^]]*\] (warning|error): ' "$1" || true; }
# common_checks CASE LOG RC PATH: not killed by a signal, one error line naming PATH, no trace.
common_checks() {
  local case=$1 log=$2 rc=$3 path=$4 errors
  [ "$rc" -lt 128 ] || { tail -5 "$log"; fail "$case: the sweep was killed by signal $((rc - 128)) (SIGXFSZ is 25), exit $rc"; }
  errors=$(error_lines "$log")
  [ "$(grep -c . <<< "$errors")" -eq 1 ] || { echo "$errors"; tail -5 "$log"; fail "$case: $(grep -c . <<< "$errors") error lines from ordertune, expected 1"; }
  grep -qF "$path" <<< "$errors" || { echo "$errors"; fail "$case: the error line does not name $path"; }
  ! has_stack_trace "$log" || { grep -m3 -E "c10::Error|terminate called|frame #|Exception raised" "$log"; fail "$case: a stack trace"; }
  ! grep -q "HDF5-DIAG" "$log" || fail "$case: an HDF5 error stack"
}

# The reference: sizes, and the uninterrupted table.
sweep ref.h5 > ref.txt 2>&1 || { tail -20 ref.txt; fail "the uninterrupted sweep failed"; }
"$OT" results ref.h5 > ref.csv
results_bytes=$(stat -c %s ref.h5)
encoder_bytes=$(/usr/bin/python3 - ref.h5 <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    w = f["checkpoints/weights"]
    print(w.shape[1] * w.dtype.itemsize)
PY
)
snapshot_min=$((3 * encoder_bytes))  # a snapshot holds the weights and AdamW's two moments, at least
[ "$results_bytes" -lt "$snapshot_min" ] \
  || fail "cannot place a limit: the results file ($results_bytes bytes) is not smaller than a snapshot (>= $snapshot_min bytes)"
above_results=$(( (results_bytes + snapshot_min) / 2 / 1024 ))
half_results=$(( results_bytes / 2 / 1024 ))
echo "results file $results_bytes bytes, encoder $encoder_bytes bytes: limits ${above_results} KiB (snapshot), ${half_results} KiB (results)"

# Each case runs in a subshell (its fail() ends the case only), so that one run reports both.
# ---- snapshot: the resume snapshot at a signal's stop does not fit ----
snapshot_case() {
  local job target rc sum
  sweep snap.h5 "$above_results" > snap.txt 2>&1 &
  job=$!
  wait_for_done_nodes snap.h5 2 "$job"
  target=$(pid_of_rank "ordertune sweep --config $cfg --results snap.h5" 0) || fail "snapshot: the rank not found"
  kill -USR1 "$target"
  ends_within "$job" 60 || { tail -5 snap.txt; fail "snapshot: the sweep still runs 60 s after SIGUSR1"; }
  rc=0; wait "$job" || rc=$?
  [ "$rc" -eq 0 ] || { tail -5 snap.txt; fail "snapshot: exit $rc, expected 0 (a clean stop with one warning)"; }
  common_checks snapshot snap.txt "$rc" "snap.h5.resume/node-"
  ! ls snap.h5.resume/*.tmp-* > /dev/null 2>&1 || fail "snapshot: temporary files left: $(ls snap.h5.resume)"
  sum=$(md5sum snap.h5)
  "$OT" status snap.h5 > /dev/null 2> err.txt || { cat err.txt; fail "snapshot: status cannot read the results file"; }
  "$OT" results snap.h5 > /dev/null 2> err.txt || { cat err.txt; fail "snapshot: results cannot read the results file"; }
  md5sum --status -c <<< "$sum" || fail "snapshot: reading the results file changed it"
  sweep snap.h5 > snap-rerun.txt 2>&1 || { tail -10 snap-rerun.txt; fail "snapshot: the re-run without the limit failed"; }
  "$OT" results snap.h5 > snap.csv
  cmp -s ref.csv snap.csv || { diff ref.csv snap.csv | head; fail "snapshot: the re-run's table differs"; }
  echo "snapshot: the failed snapshot write was reported in one line (exit $rc): $(error_lines snap.txt)"
}
# ---- results: the results file cannot be created at its size ----
results_case() {
  local job rc
  sweep big.h5 "$half_results" > big.txt 2>&1 &
  job=$!
  ends_within "$job" 60 || { tail -5 big.txt; fail "results: the sweep still runs after 60 s"; }
  rc=0; wait "$job" || rc=$?
  [ "$rc" -ne 0 ] || { tail -5 big.txt; fail "results: exit 0 with a results file that cannot be written"; }
  common_checks results big.txt "$rc" "big.h5"
  [ ! -e big.h5.creating ] || fail "results: big.h5.creating left behind ($(stat -c %s big.h5.creating) bytes)"
  [ ! -e big.h5 ] || fail "results: a results file big.h5 exists after its creation failed"
  sweep big.h5 > big-rerun.txt 2>&1 || { tail -10 big-rerun.txt; fail "results: the re-run without the limit failed"; }
  "$OT" results big.h5 > big.csv
  cmp -s ref.csv big.csv || { diff ref.csv big.csv | head; fail "results: the re-run's table differs"; }
  echo "results: the failed creation was reported in one line (exit $rc): $(error_lines big.txt)"
}
failures=0
( snapshot_case ) || { failures=$((failures + 1)); pkill -9 -f "ordertune sweep --config $cfg --results snap.h5" || true; }
( results_case ) || { failures=$((failures + 1)); pkill -9 -f "ordertune sweep --config $cfg --results big.h5" || true; }
[ "$failures" -eq 0 ] || fail "$failures of 2 cases failed (see above)"
echo "full_disk: ok"
