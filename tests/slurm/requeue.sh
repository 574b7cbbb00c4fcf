#!/usr/bin/env bash
# Slurm: a sweep job interrupted while it runs continues where it stopped
# (jobscripts/sweep.sbatch on a throwaway single-node Slurm, tests/slurm/lib/cluster.sh).
# Checks, each on 3 CPU tasks against an mpirun sweep of the same config (byte-equal tables):
#   requeue: `scontrol requeue` of the running job (launcher mpirun): the job starts again,
#            its log says the sweep resumed, and it finishes with the same table;
#   signal:  SIGUSR1 to the batch shell (`scancel --signal=USR1 --batch`, what
#            --signal=B:USR1@margin does at the margin; launcher srun): every rank stops at a
#            step and exits 0, the script requeues the job itself, and it finishes with the
#            same table.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ORDERTUNE_BIN="$B/ordertune"
unset ORDERTUNE_HOME ORDERTUNE_LAUNCHER
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"

. "$S/tests/slurm/lib/cluster.sh"
start=$SECONDS
slurm_cluster_start 4
cd "$SLURM_TEST_DIR/work"
. "$S/tests/e2e/lib/small_demo.sh"
small_demo_config "$S" demo.toml
"$OT" prepare --config demo.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
mpirun -np 2 "$OT" sweep --config demo.toml --results ref.h5 > ref.txt 2>&1 \
  || { tail -20 ref.txt; fail "mpirun sweep failed"; }
"$OT" results ref.h5 > ref.csv
echo "cluster, cache and reference ready at $(( SECONDS - start )) s"

# done_nodes FILE: how many plan nodes the results file marks done (0 if it does not exist yet).
done_nodes() {
  [ -f "$1" ] || { echo 0; return; }
  "$OT" status "$1" 2> /dev/null | sed -n 's/.*: \([0-9]*\)\/[0-9]* nodes done.*/\1/p' | head -1
}
# submit_and_wait_for_progress RESULTS [sbatch options]: submits sweep.sbatch on 3 tasks and
# returns (job id in $job) once the sweep has finished its first node (the root), so that an
# interruption leaves done and pending nodes.
submit_and_wait_for_progress() {
  local results=$1; shift
  job=$(sbatch --parsable -n 3 --cpus-per-task=1 "$@" "$S/jobscripts/sweep.sbatch" demo.toml "$results")
  slurm_wait_for "$job" RUNNING 60
  local t=$SECONDS n=0
  while [ $(( SECONDS - t )) -lt 300 ]; do
    n=$(done_nodes "$results"); n=${n:-0}
    [ "$n" -ge 1 ] && break
    [ "$(slurm_job_state "$job")" = RUNNING ] || fail "job $job left RUNNING before any node was done"
    sleep 1
  done
  [ "$n" -ge 1 ] || fail "no node done within 300 s"
  grep -q "; finished" <<< "$("$OT" status "$results")" && fail "the sweep finished before the interruption"
  echo "job $job: $n node(s) done; interrupting at $(( SECONDS - start )) s"
}
# check_resumed JOB RESULTS: the job ran twice, the second run resumed, the table is the reference's.
check_resumed() {
  local job=$1 results=$2 log="ordertune-sweep-$1.out"
  grep -q "Restarts=1 " <<< "$(scontrol show job "$job")" || { scontrol show job "$job"; fail "job $job was not restarted once"; }
  grep -q "restart 1)" "$log" || { cat "$log"; fail "$log: no second run"; }
  grep -q "resumed" "$log" || { cat "$log"; fail "$log: the second run did not resume"; }
  grep -q "sweep.sbatch: sweep finished: $results" "$log" || { tail -30 "$log"; fail "$log: not finished"; }
  "$OT" results "$results" > "$results.csv"
  cmp -s ref.csv "$results.csv" || { diff ref.csv "$results.csv" | head; fail "$results: table differs from mpirun's"; }
}

# 1. scontrol requeue while the sweep runs (Slurm sends SIGTERM to every process of the job;
#    the job comes back after cred_expire), launcher mpirun.
submit_and_wait_for_progress requeue.h5 --export=ALL,ORDERTUNE_LAUNCHER=mpirun
scontrol requeue "$job"
slurm_wait_job "$job" 600
check_resumed "$job" requeue.h5
grep -q "mpirun;" "ordertune-sweep-$job.out" || fail "the requeue job did not use mpirun"
echo "requeue: ok at $(( SECONDS - start )) s"

# 2. SIGUSR1 to the batch shell only: the ranks stop cleanly, the script requeues the job.
submit_and_wait_for_progress signal.h5
scancel --signal=USR1 --batch "$job"
slurm_wait_job "$job" 600
log="ordertune-sweep-$job.out"
grep -q "sweep.sbatch: SIGUSR1 received" "$log" || { cat "$log"; fail "the batch shell did not get SIGUSR1"; }
grep -q "sweep stopped by signal 10" "$log" || { cat "$log"; fail "the ranks did not stop on SIGUSR1"; }
grep -q "requeueing job $job" "$log" || { cat "$log"; fail "the script did not requeue the job"; }
grep -q "the sweep failed" "$log" && { cat "$log"; fail "the ranks did not exit 0 after SIGUSR1"; }
check_resumed "$job" signal.h5
echo "signal: ok at $(( SECONDS - start )) s"
echo "requeue: ok"
