#!/usr/bin/env bash
# Slurm: the job scripts on a throwaway single-node Slurm (tests/slurm/lib/cluster.sh).
# Checks: bad arguments give one usage line and exit 2, --help exits 0; jobscripts/prepare.sbatch
# builds the data cache; jobscripts/sweep.sbatch on 3 CPU tasks (srun --mpi=pmix, one rank per
# task), submitted from a scratch directory by absolute path, finds the checkout's binary and
# the config's default results file, and its results table equals an mpirun sweep of the same
# config byte for byte; jobscripts/analysis.sbatch writes a report of that file.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
# The scripts find build/ordertune of their checkout; a build elsewhere is named explicitly.
[ "$(cd "$B" && pwd)" = "$(cd "$S" && pwd)/build" ] || export ORDERTUNE_BIN="$OT"
unset ORDERTUNE_HOME ORDERTUNE_LAUNCHER

# 1. Usage: one line, exit 2 (outside any job, before any daemon runs).
usage_check() {  # expected-rc script args...
  local want=$1 rc=0; shift
  bash "$@" > usage.out 2> usage.err || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat usage.err)"
  if [ "$want" -eq 2 ]; then
    [ "$(wc -l < usage.err)" -eq 1 ] || fail "$*: expected one line on stderr, got: $(cat usage.err)"
  fi
}
scratch=$(mktemp -d); cd "$scratch"
for s in sweep.sbatch prepare.sbatch analysis.sbatch local.sh; do
  usage_check 2 "$S/jobscripts/$s"
  usage_check 0 "$S/jobscripts/$s" --help
  grep -q "^usage: .*$s" usage.out || fail "$s --help prints no usage line"
done
usage_check 2 "$S/jobscripts/sweep.sbatch" a.toml b.h5 c
usage_check 2 "$S/jobscripts/local.sh" a.toml zero
touch empty.toml
usage_check 2 "$S/jobscripts/sweep.sbatch" empty.toml
grep -q "not inside a Slurm job" usage.err || fail "sweep.sbatch outside a job: $(cat usage.err)"
cd /; rm -rf "$scratch"

# 2. The cluster and the small demo; the cache built by prepare.sbatch.
. "$S/tests/slurm/lib/cluster.sh"
start=$SECONDS
slurm_cluster_start 4
echo "cluster up in $(( SECONDS - start )) s"
cd "$SLURM_TEST_DIR/work"
. "$S/tests/e2e/lib/small_demo.sh"
small_demo_config "$S" demo.toml
job=$(sbatch --parsable "$S/jobscripts/prepare.sbatch" demo.toml)
slurm_wait_job "$job" 300
grep -q "data cache ready: cache/demo.h5" "ordertune-prepare-$job.out" \
  || { cat "ordertune-prepare-$job.out"; fail "prepare.sbatch built no cache"; }
echo "prepare.sbatch done at $(( SECONDS - start )) s"

# 3. The reference: the same config under mpirun, outside Slurm.
mpirun -np 2 "$OT" sweep --config demo.toml --results ref.h5 > ref.txt 2>&1 \
  || { tail -20 ref.txt; fail "mpirun sweep failed"; }
"$OT" results ref.h5 > ref.csv
[ "$(wc -l < ref.csv)" -gt 100 ] || fail "reference table too short"
echo "reference sweep done at $(( SECONDS - start )) s"

# 4. sweep.sbatch on 3 tasks, default results file (output.results = results/demo.h5).
job=$(sbatch --parsable -n 3 --cpus-per-task=1 "$S/jobscripts/sweep.sbatch" demo.toml)
slurm_wait_job "$job" 600
log="ordertune-sweep-$job.out"
grep -q "sweep.sbatch: sweep finished: results/demo.h5" "$log" || { tail -30 "$log"; fail "no finish line in $log"; }
grep -q "3 worker(s)" "$log" || { head -5 "$log"; fail "the sweep did not run 3 ranks"; }
grep -q "1 thread(s) each, srun; ${ORDERTUNE_BIN:-$(cd "$S" && pwd)/build/ordertune};" "$log" \
  || { head -3 "$log"; fail "sweep.sbatch used another binary or launcher"; }
"$OT" results results/demo.h5 > slurm.csv
cmp -s ref.csv slurm.csv || { diff ref.csv slurm.csv | head; fail "sweep.sbatch's table differs from mpirun's"; }
echo "sweep.sbatch done at $(( SECONDS - start )) s"

# 5. analysis.sbatch: the report of the finished file.
job=$(sbatch --parsable "$S/jobscripts/analysis.sbatch" results/demo.h5 "$PWD/report")
slurm_wait_job "$job" 300
[ -n "$(ls -A report 2>/dev/null)" ] || { cat "ordertune-analysis-$job.out"; fail "analysis.sbatch wrote no report"; }
echo "analysis.sbatch done at $(( SECONDS - start )) s"
echo "sbatch_sweep: ok"
