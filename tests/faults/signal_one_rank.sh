#!/usr/bin/env bash
# Fault: a signal that reaches one rank alone (preemption of one node, a health check, `scancel
# --signal` to one step, an OOM warning). SIGTERM to each single rank of a 3-rank sweep, the
# coordinator's (0) and two workers' (1, 2), once the root is done and nodes train.
# Each case asserts: the job ends with exit 0 within 60 s (one rank's signal once left rank 1 in
# MPI_Barrier and rank 0 printing progress forever); rank 0 says which rank's signal stopped it;
# no stack trace; the file is not finished; the re-run continues and gives the table of an
# uninterrupted sweep.
# Cost: 4 small-demo sweeps on 3 ranks and 3 re-runs, about 3 minutes on 2 cores.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'pkill -9 -f "ordertune sweep --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
. "$S/tests/e2e/lib/small_demo.sh"
. "$S/tests/e2e/lib/wait.sh"
. "$S/tests/e2e/lib/faults.sh"
small_demo_config "$S" demo.toml
cfg="$work/demo.toml"
"$OT" prepare --config "$cfg" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
sweep() { mpirun -np 3 "$OT" sweep --config "$cfg" --results "$1" --progress lines; }

sweep ref.h5 > ref.txt 2>&1 || { tail -20 ref.txt; fail "the uninterrupted sweep failed"; }
"$OT" results ref.h5 > ref.csv

for rank in 1 2 0; do
  file=sig$rank.h5
  sweep "$file" > "sig$rank.txt" 2>&1 &
  job=$!
  # The root and one more node are done: every worker has been given nodes, so some are training
  # (right after the root alone they may still be asking for their first, and a stop then leaves
  # no snapshot to check).
  wait_for_done_nodes "$file" 2 "$job"
  target=$(pid_of_rank "ordertune sweep --config $cfg --results $file" "$rank") || fail "rank $rank of the sweep on $file not found"
  kill -TERM "$target"
  start=$SECONDS
  while kill -0 "$job" 2> /dev/null && [ $((SECONDS - start)) -le 60 ]; do sleep 0.2; done
  if kill -0 "$job" 2> /dev/null; then
    tail -5 "sig$rank.txt"; fail "SIGTERM to rank $rank alone: the job still runs after 60 s"
  fi
  took=$((SECONDS - start))
  rc=0; wait "$job" || rc=$?
  [ "$rc" -eq 0 ] || { tail -10 "sig$rank.txt"; fail "SIGTERM to rank $rank alone: exit $rc"; }
  if [ "$rank" -eq 0 ]; then want="stopped by signal 15 on rank 0"; else want="stopped by a signal on rank $rank"; fi
  grep -q "$want" "sig$rank.txt" || { tail -5 "sig$rank.txt"; fail "rank 0 did not say '$want'"; }
  ! grep -Eq "c10::Error|terminate called|frame #" "sig$rank.txt" || fail "a stack trace after SIGTERM to rank $rank"
  # The stop took effect: the file is not finished. (Whether a resume snapshot is written depends
  # on the moment: a rank that was evaluating, or between nodes, has none to write.)
  ! "$OT" status "$file" | grep -q "; finished" || fail "SIGTERM to rank $rank: the sweep ran to its end"
  sweep "$file" > "rerun$rank.txt" 2>&1 || { tail -10 "rerun$rank.txt"; fail "the re-run after rank $rank's signal failed"; }
  "$OT" results "$file" > "t$rank.csv"
  cmp -s ref.csv "t$rank.csv" || { diff ref.csv "t$rank.csv" | head; fail "after rank $rank's signal and a re-run, the table differs"; }
  echo "signal to rank $rank alone: the job ended within ${took} s, exit 0; the re-run's table is equal"
done
echo "signal_one_rank: ok"
