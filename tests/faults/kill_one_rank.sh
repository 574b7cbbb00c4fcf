#!/usr/bin/env bash
# Fault: one rank of a 3-rank sweep dies (kill -9: the OOM killer, a node failure) while it
# trains a node: a worker (rank 1), and the coordinator (rank 0). MPI's failure model
# (src/DESIGN.md, item 8): a dead rank ends the job, and the same command run again resumes.
# Each case asserts: the job (mpirun) ends within 60 s with a non-zero exit; no stack trace
# (c10::Error, terminate called, frame #) and no HDF5 error stack in its output, and no more than
# one error line of ordertune's own (lines "ordertune: ..."; Open MPI's notice that a process
# was killed is mpirun's, not counted); the results file stays readable: `ordertune status`
# and `ordertune results` exit 0 without changing it, every node done before the kill is still
# done, and every row of the partial table equals the uninterrupted sweep's; the data cache is
# unchanged; the re-run with the same command completes and gives the uninterrupted table, and
# leaves no resume snapshots.
# Cost: 3 sweeps of a 9-node plan on 3 ranks, two of them killed part-way and re-run: about 1
# minute on 2 cores.
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
# The small demo with a 9-node plan: mnli and hellaswag (alone or not at all) before xnli and
# udpos, 3 epochs (nodes of seconds). After the root 4 nodes can run: the three ranks are busy.
small_demo_config "$S" demo.toml
sed -i -e 's/^stages = \[.*\]$/stages = ["mnli", "hellaswag"]/' -e 's/^lengths = \[.*\]$/lengths = [0, 1]/' \
  -e '/^\[targets\]$/,/^$/s/^tasks = \[.*\]$/tasks = ["xnli", "udpos"]/' -e 's/^epochs = .*/epochs = 3.0/' demo.toml
grep -q '^tasks = \["xnli", "udpos"\]$' demo.toml && grep -q '^lengths = \[0, 1\]$' demo.toml \
  && grep -q '^epochs = 3.0$' demo.toml || fail "could not reduce the plan of configs/demo.toml"
cfg="$work/demo.toml"
"$OT" prepare --config "$cfg" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
cache_sum=$(md5sum cache/demo.h5)
sweep() { mpirun -np 3 "$OT" sweep --config "$cfg" --results "$1" --progress lines; }

sweep ref.h5 > ref.txt 2>&1 || { tail -20 ref.txt; fail "the uninterrupted sweep failed"; }
"$OT" results ref.h5 > ref.csv

for rank in 1 0; do
  file=kill$rank.h5
  sweep "$file" > "kill$rank.txt" 2>&1 &
  job=$!
  # The root and one more node are done (every worker has been given nodes), and the file shows
  # a node that rank $rank started and has not finished: it trains (or evaluates) that node.
  wait_for_done_nodes "$file" 2 "$job"
  running=""
  while [ -z "$running" ]; do
    running=$(node_table "$file" | awk -F'\t' -v r="$rank" '$2 != 0 && $3 == 0 && $4 == r && $5 == 1 {print $6; exit}')
    [ -n "$running" ] && break
    kill -0 "$job" 2> /dev/null || { tail -5 "kill$rank.txt"; fail "the sweep ended before rank $rank was seen training a node"; }
    sleep 0.2
  done
  done_before=$(node_table "$file" | awk -F'\t' '$3 == 1 {print $1}')
  target=$(pid_of_rank "ordertune sweep --config $cfg --results $file" "$rank") || fail "rank $rank of the sweep on $file not found"
  kill -9 "$target"
  ends_within "$job" 60 || { tail -5 "kill$rank.txt"; fail "kill -9 of rank $rank: the job still runs after 60 s"; }
  took=$ENDED_AFTER
  rc=0; wait "$job" || rc=$?
  [ "$rc" -ne 0 ] || { tail -10 "kill$rank.txt"; fail "kill -9 of rank $rank: the job exited 0"; }
  ! has_stack_trace "kill$rank.txt" || { grep -m5 -E "c10::Error|terminate called|frame #|Exception raised" "kill$rank.txt"; fail "a stack trace after kill -9 of rank $rank"; }
  ! grep -q "HDF5-DIAG" "kill$rank.txt" || fail "an HDF5 error stack after kill -9 of rank $rank"
  own_errors=$(grep -c "^ordertune: " "kill$rank.txt" || true)
  [ "$own_errors" -le 1 ] || { grep "^ordertune: " "kill$rank.txt"; fail "kill -9 of rank $rank: $own_errors error lines from ordertune"; }

  # The file stays readable, and reading it changes nothing.
  sum=$(md5sum "$file")
  "$OT" status "$file" > "status$rank.txt" 2> err.txt || { cat err.txt; fail "status of the file after kill -9 of rank $rank failed"; }
  "$OT" results "$file" > "part$rank.csv" 2> err.txt || { cat err.txt; fail "results of the file after kill -9 of rank $rank failed"; }
  md5sum --status -c <<< "$sum" || fail "status/results changed the file after kill -9 of rank $rank"
  done_after=$(node_table "$file" | awk -F'\t' '$3 == 1 {print $1}')
  [ -n "$done_after" ] || fail "the file after kill -9 of rank $rank cannot be read with h5py"
  lost=$(comm -23 <(sort <<< "$done_before") <(sort <<< "$done_after"))
  [ -z "$lost" ] || fail "nodes done before kill -9 of rank $rank are no longer done: $lost"
  [ "$(head -1 "part$rank.csv")" = "$(head -1 ref.csv)" ] || fail "the partial table has another header: $(head -1 "part$rank.csv")"
  differ=$(grep -vxFf ref.csv "part$rank.csv" || true)
  [ -z "$differ" ] || { head -5 <<< "$differ"; fail "rows of the partial table after kill -9 of rank $rank differ from the uninterrupted sweep's"; }
  # Status lists every node the file shows started and not done, and only those. The node rank
  # $rank was seen running is one of them unless it finished just before the kill (the machine's
  # timing decides; then that rank was between nodes).
  unfinished=$(node_table "$file" | awk -F'\t' '$3 != 1 && $5 == 1 {print $6}')
  done_names=$(node_table "$file" | awk -F'\t' '$3 == 1 {print $6}')
  grep -qxF "$running" <<< "$unfinished"$'\n'"$done_names" \
    || fail "the node rank $rank was seen running ($running) is neither done nor listed as started in the file"
  listed=$(sed -n 's/^  started, not done: \(.*\) (rank [0-9]*)$/\1/p' "status$rank.txt")
  [ "$(sort <<< "$listed")" = "$(sort <<< "$unfinished")" ] \
    || { cat "status$rank.txt"; fail "status lists [$listed] as interrupted; the file shows [$unfinished] started and not done"; }

  # The same command again resumes and completes with the uninterrupted table.
  sweep "$file" > "rerun$rank.txt" 2>&1 || { tail -10 "rerun$rank.txt"; fail "the re-run after kill -9 of rank $rank failed"; }
  grep -q "resumed" "rerun$rank.txt" || fail "the re-run after kill -9 of rank $rank did not resume the file"
  "$OT" results "$file" > "t$rank.csv"
  cmp -s ref.csv "t$rank.csv" || { diff ref.csv "t$rank.csv" | head; fail "after kill -9 of rank $rank and a re-run, the table differs"; }
  [ ! -e "$file.resume" ] || fail "resume snapshots left after the re-run finished: $(ls "$file.resume")"
  echo "kill -9 of rank $rank (seen training $running, $(wc -w <<< "$done_before") nodes done): the job ended within ${took} s, exit $rc; status and results read the file; the re-run's table is equal"
done
md5sum --status -c <<< "$cache_sum" || fail "the data cache changed"
echo "kill_one_rank: ok"
