#!/usr/bin/env bash
# End to end: output.checkpoints = "none" (scheduler.h rule 6: encoders move only between
# workers' memories). Checks: the results file keeps no encoder; 1 and 3 ranks give the table of
# an "interior" sweep; on 3 ranks no parent is read from the file and some come from peers; kill -9
# of every rank, then re-running (done parents are trained again where a child still needs them)
# gives the same table; groups of 2 ranks keep and free copies together.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'pkill -9 -f "ordertune sweep --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
. "$S/tests/e2e/lib/small_demo.sh"
. "$S/tests/e2e/lib/wait.sh"
small_demo_config "$S" demo.toml
sed -e 's/^results = .*/&\ncheckpoints = "none"/' demo.toml > none.toml
grep -q '^checkpoints = "none"' none.toml || fail "could not set output.checkpoints"
"$OT" prepare --config "$work/demo.toml" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }

sweep() {  # config ranks results-file
  mpirun -np "$2" "$OT" sweep --config "$work/$1" --results "$3"
}
sweep demo.toml 1 interior.h5 > logi.txt 2>&1 || { tail -20 logi.txt; fail "interior sweep failed"; }
"$OT" results interior.h5 > ti.csv
[ "$(wc -l < ti.csv)" -gt 100 ] || fail "result table too short"

for n in 1 3; do
  sweep none.toml "$n" "none$n.h5" > "log$n.txt" 2>&1 || { tail -20 "log$n.txt"; fail "$n-rank sweep without checkpoints failed"; }
  "$OT" results "none$n.h5" > "t$n.csv"
  cmp -s ti.csv "t$n.csv" || { diff ti.csv "t$n.csv" | head; fail "$n ranks without checkpoints differ from interior"; }
done
grep -Eq "parent encoders not held by their worker: [1-9][0-9]* from a peer over MPI, 0 from the results file" log3.txt \
  || { grep "parent encoders" log3.txt; fail "3 ranks: expected parents from peers and none from the file"; }
$PY - none3.h5 interior.h5 <<'PY' || fail "the file without checkpoints keeps encoders"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as g:
    assert (f["checkpoints/row"][:] == -1).all(), f["checkpoints/row"][:]
    assert f["checkpoints/weights"].shape[0] == 0, f["checkpoints/weights"].shape
    assert g["checkpoints/weights"].shape[0] > 0  # the interior file does keep them
PY

# Groups of 2 ranks (4 ranks, 2 workers): both ranks of a group keep and free the same copies
# (--verbose logs them); the plan completes (a group's numbers equal one rank's only to rounding).
sed -e 's/^threads = 1$/threads = 1\ngroup_size = 2/' none.toml > group.toml
# Strict communicator: host data (replies, flags, sums) must not travel as tensors, as on NCCL.
mpirun -x ORDERTUNE_STRICT_COMMUNICATOR=1 -np 4 "$OT" sweep --config "$work/group.toml" --results g.h5 --verbose > logg.txt 2>&1 \
  || { tail -20 logg.txt; fail "group_size 2 sweep without checkpoints failed"; }
[ "$("$OT" results g.h5 | wc -l)" = "$(wc -l < ti.csv)" ] || fail "the group sweep's table has another size"
# Both ranks of a group log the same keeps and frees, in the same order.
for g in "r0 r1" "r2 r3"; do
  set -- $g
  for r in "$1" "$2"; do grep -E "\[ordertune $r .*debug: (keeping|freed)" logg.txt | sed 's/.*debug: //' > "$r.kept"; done
  cmp -s "$1.kept" "$2.kept" || { diff "$1.kept" "$2.kept" | head; fail "ranks $1 and $2 of one group kept or freed different copies"; }
done
grep -q "^keeping the encoder of" r0.kept r2.kept || fail "no worker kept a copy (rule 6 untested)"
grep -q "^freed the kept encoder of" r0.kept r2.kept || fail "no kept copy was freed"
grep -q "0 from the results file" logg.txt || fail "the group sweep read a parent from the file"

# kill -9 of every rank mid-sweep, twice (each time once the run has finished one more node),
# then resume: the parents of unfinished nodes are trained again (the file has none), and the
# table is the same.
for round in 1 2; do
  before=$(done_nodes crash.h5)
  sweep none.toml 3 crash.h5 > "crash-$round.txt" 2>&1 &
  wait_for_done_nodes crash.h5 $(( before + 1 )) $!
  pkill -9 -f "ordertune sweep --config $work/none.toml --results crash.h5" || true
  wait || true
  "$OT" status crash.h5 >> crash-status.txt
done
head -1 crash-status.txt | grep -vq finished || fail "the sweep finished before the first kill"
sweep none.toml 3 crash.h5 > resumed.txt 2>&1 || { tail -20 resumed.txt; fail "resumed sweep failed"; }
grep -q "resumed" resumed.txt || fail "the re-run did not resume the file"
"$OT" results crash.h5 > tc.csv
cmp -s ti.csv tc.csv || { diff ti.csv tc.csv | head; fail "the resumed sweep without checkpoints differs"; }
echo "sweep_no_checkpoints: OK ($(wc -l < ti.csv) rows; $(grep -h 'parent encoders' log3.txt))"
