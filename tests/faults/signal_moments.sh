#!/usr/bin/env bash
# Fault: a signal that reaches one rank alone (as tests/faults/signal_one_rank.sh), at two other
# moments of that rank, on a 3-rank sweep of a 4-node plan (tiny_plan_config: once the root is
# done only mnli and xnli-after-"" can run, so one rank has nothing to do until the end):
#   idle   SIGTERM to the rank that has no node (it waits for work that never comes). The file
#          shows it: the root done, mnli and xnli-after-"" started on the two other ranks.
#   write  SIGTERM to a rank while it writes a resume snapshot (output.resume_every = 3). The
#          test makes the write observable, and slow, without changing ordertune: it puts a
#          named pipe where the rank writes its snapshot (FILE.resume/node-N.pt.tmp-PID) and holds
#          it open unread, so the rank's write fills the pipe and blocks; the rank holding the
#          pipe open (/proc/PID/fd) is the condition. The signal comes then, and the pipe is
#          drained afterwards, so the write completes after the signal.
# Each case asserts: the job ends within 60 s with exit 0; rank 0 says the signal on that rank
# stopped the sweep (src/DESIGN.md item 8: a signal to one rank alone stops every rank); no stack
# trace; no temporary snapshot files (node-*.pt.tmp-*) left; the re-run continues (write: the
# interrupted node resumes from its snapshot) and gives the table of an uninterrupted sweep.
# (A results-file checkpoint write, /checkpoints/weights, has no such observable moment: it is
# MPI-IO from inside the rank, with no temporary file and no log line; not covered.)
# Cost: 3 sweeps of a 4-node plan on 3 ranks (two cut short by the signal)
# and up to 2 re-runs: about 30 s on 2 cores.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'exec 8>&- 2>/dev/null || true; pkill -9 -f "ordertune sweep --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
. "$S/tests/e2e/lib/small_demo.sh"
. "$S/tests/e2e/lib/faults.sh"
tiny_plan_config "$S" demo.toml 10  # nodes of 70 steps: each moment lasts seconds
set_output demo.toml resume_every 3  # a snapshot every 3 steps
cfg="$work/demo.toml"
"$OT" prepare --config "$cfg" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
sweep() { mpirun -np 3 "$OT" sweep --config "$cfg" --results "$1" --progress lines; }
pattern() { echo "ordertune sweep --config $cfg --results $1"; }

sweep ref.h5 > ref.txt 2>&1 || { tail -20 ref.txt; fail "the uninterrupted sweep failed"; }
"$OT" results ref.h5 > ref.csv
[ "$(node_table ref.h5 | wc -l)" -eq 4 ] || fail "the plan has $(node_table ref.h5 | wc -l) nodes, expected 4"

# stopped_as_told CASE RANK LOG JOB FILE: the checks after the signal to RANK: the job ends within
# 60 s with exit 0, rank 0 names the signal, no stack trace, no temporary snapshot left.
stopped_as_told() {
  local case=$1 rank=$2 log=$3 job=$4 file=$5 rc=0 want
  ends_within "$job" 60 || { tail -5 "$log"; fail "$case: the job still runs 60 s after the signal to rank $rank"; }
  wait "$job" || rc=$?
  [ "$rc" -eq 0 ] || { tail -10 "$log"; fail "$case: SIGTERM to rank $rank: exit $rc"; }
  if [ "$rank" -eq 0 ]; then want="sweep stopped by signal 15 on rank 0"; else want="sweep stopped by a signal on rank $rank"; fi
  grep -q "$want" "$log" || { grep "ordertune r0" "$log" | tail -4; fail "$case: rank 0 did not say '$want'"; }
  ! has_stack_trace "$log" || fail "$case: a stack trace after SIGTERM to rank $rank"
  ! ls "$file.resume"/*.tmp-* > /dev/null 2>&1 || fail "$case: temporary snapshot files left: $(ls "$file.resume")"
}
# holds_open PID ID: whether process PID has the file ID ("device:inode", as `stat -c %d:%i`
# gives) open, under whatever name it has now.
holds_open() {
  local fd
  for fd in /proc/"$1"/fd/*; do [ "$(stat -L -c %d:%i "$fd" 2> /dev/null)" = "$2" ] && return 0; done
  return 1
}
# rerun_equal CASE FILE: the re-run completes and its table equals the uninterrupted one.
rerun_equal() {
  sweep "$2" > "$2.rerun.txt" 2>&1 || { tail -10 "$2.rerun.txt"; fail "$1: the re-run failed"; }
  "$OT" results "$2" > "$2.csv"
  cmp -s ref.csv "$2.csv" || { diff ref.csv "$2.csv" | head; fail "$1: after the signal and a re-run, the table differs"; }
  [ ! -e "$2.resume" ] || fail "$1: resume snapshots left after the re-run finished"
}

# Each case runs in a subshell (its fail() ends the case only), so that one run reports both.
# ---- idle: SIGTERM to the rank that has no node ----
idle_case() {
  local job idle="" target
  sweep idle.h5 > idle.txt 2>&1 &
  job=$!
  while [ -z "$idle" ]; do
    # root done; mnli (the stage) and xnli after "" started and not done, on two ranks: the third
    # has nothing to run now and will get nothing (xnli after mnli goes to mnli's rank).
    idle=$(node_table idle.h5 | awk -F'\t' '
      $2 == 0 && $3 == 1 {root = 1}
      $2 != 0 && $3 == 0 && $5 == 1 {busy[$4] = 1; running++; if ($2 == 1) stage = 1}
      END {if (root && running == 2 && stage) for (r = 0; r < 3; r++) if (!(r in busy)) {print r; exit}}')
    [ -n "$idle" ] && break
    kill -0 "$job" 2> /dev/null || { tail -5 idle.txt; fail "idle: the sweep ended before a rank was seen idle"; }
    sleep 0.2
  done
  target=$(pid_of_rank "$(pattern idle.h5)" "$idle") || fail "idle: rank $idle not found"
  kill -TERM "$target"
  stopped_as_told idle "$idle" idle.txt "$job" idle.h5
  rerun_equal idle idle.h5
  echo "idle: SIGTERM to idle rank $idle stopped the job within ${ENDED_AFTER} s, exit 0; the re-run's table is equal"
}
# ---- write: SIGTERM to a rank while it writes a resume snapshot ----
write_case() {
  local job caught="" pick node rank pid fifo fifo_id drain final
  sweep write.h5 > write.txt 2>&1 &
  job=$!
  while [ -z "$caught" ]; do
    # A node that a rank started and has not finished (the root done): "id rank".
    pick=$(node_table write.h5 | awk -F'\t' '$2 == 0 && $3 == 1 {root = 1}
      $2 != 0 && $3 == 0 && $5 == 1 {n = $1; r = $4} END {if (root && n != "") print n, r}')
    if [ -z "$pick" ]; then
      kill -0 "$job" 2> /dev/null || { tail -5 write.txt; fail "write: the sweep ended before a node was seen running"; }
      sleep 0.2; continue
    fi
    read -r node rank <<< "$pick"
    pid=$(pid_of_rank "$(pattern write.h5)" "$rank") || fail "write: rank $rank not found"
    mkdir -p write.h5.resume
    fifo="write.h5.resume/node-$node.pt.tmp-$pid"
    mkfifo "$fifo"
    fifo_id=$(stat -c %d:%i "$fifo")
    exec 8<> "$fifo"  # a reader that never reads: the rank's open succeeds, its writes fill the pipe
    while :; do
      if holds_open "$pid" "$fifo_id"; then caught=yes; break; fi
      # The node finished first (its snapshots and our pipe are deleted), or the job ended.
      [ -p "$fifo" ] && kill -0 "$pid" 2> /dev/null || break
      sleep 0.05
    done
    if [ -z "$caught" ]; then
      exec 8>&-; rm -f "$fifo"
      kill -0 "$job" 2> /dev/null || { tail -5 write.txt; fail "write: the sweep ended before a snapshot write was caught"; }
    fi
  done
  kill -TERM "$pid"
  cat "$fifo" > captured.pt 8>&- &  # drains the pipe: the write goes on, after the signal
  drain=$!
  # Our end closes once cat has the pipe open: a pipe without a reader would be a broken pipe.
  until holds_open "$drain" "$fifo_id"; do
    kill -0 "$drain" 2> /dev/null || fail "write: cat could not open the pipe"
    sleep 0.05
  done
  exec 8>&-
  wait "$drain"
  [ -s captured.pt ] || fail "write: nothing was written into the snapshot"
  stopped_as_told write "$rank" write.txt "$job" write.h5
  final="write.h5.resume/node-$node.pt"
  if [ -p "$final" ]; then
    # No later snapshot replaced the pipe (renamed to the final name): the bytes the rank wrote
    # into it are the snapshot.
    echo "write: node $node's last snapshot is the one written during the signal"
    rm -f "$final"; cp captured.pt "$final"
  fi
  [ -f "$final" ] || fail "write: no resume snapshot of node $node after the stop: $(ls write.h5.resume 2>&1)"
  rerun_equal write write.h5
  grep -q "resuming at step" write.h5.rerun.txt || fail "write: the re-run did not continue node $node from its snapshot"
  echo "write: SIGTERM to rank $rank during its snapshot write of node $node stopped the job within ${ENDED_AFTER} s, exit 0; the re-run resumed it and its table is equal"
}
failures=0
( idle_case ) || { failures=$((failures + 1)); pkill -9 -f "$(pattern idle.h5)" || true; }
( write_case ) || { failures=$((failures + 1)); pkill -9 -f "$(pattern write.h5)" || true; }
[ "$failures" -eq 0 ] || fail "$failures of 2 cases failed (see above)"
echo "signal_moments: ok"
