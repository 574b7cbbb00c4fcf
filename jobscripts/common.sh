# Sourced by the job scripts in this folder (not a job script itself): the pieces they share.
#
# Before sourcing, a script finds the checkout (ORDERTUNE_HOME). Under sbatch that is not the
# folder of the running script: slurmd runs a *copy* of the batch script from its spool
# directory (e.g. /var/spool/slurmd/job00042/slurm_script), so BASH_SOURCE points there. The
# scripts therefore try, in order:
#   1. $ORDERTUNE_HOME, if set (sbatch exports the submitting shell's environment by default);
#   2. the path the script was submitted as: Slurm keeps it as the job's Command
#      (`scontrol show job $SLURM_JOB_ID`), so `sbatch ~/ordertune/jobscripts/sweep.sbatch C`
#      works from any directory;
#   3. the script's own folder (run with bash outside sbatch, e.g. inside salloc);
#   4. $SLURM_SUBMIT_DIR (submitted from the checkout root).
# The first that holds jobscripts/common.sh wins.

ORDERTUNE_HOME=$(cd "$ORDERTUNE_HOME" && pwd)
export ORDERTUNE_HOME

# ot_die CODE MESSAGE: one line on stderr, then exit CODE (2: bad arguments or setup).
ot_die() {
  echo "${ot_script_name:-ordertune}: $2" >&2
  exit "$1"
}

# ot_binary: the ordertune executable: $ORDERTUNE_BIN if set, else build/ordertune of the checkout.
ot_binary() {
  local bin=${ORDERTUNE_BIN:-$ORDERTUNE_HOME/build/ordertune}
  [ -x "$bin" ] || ot_die 2 "$bin: no ordertune executable (build it: cmake -S . -B build && cmake --build build; or set ORDERTUNE_BIN)"
  echo "$bin"
}

# ot_require_config FILE: a readable config file, else one line and exit 2.
ot_require_config() {
  [ -f "$1" ] && [ -r "$1" ] || ot_die 2 "$1: no such config file (relative paths are relative to $(pwd))"
}

# ot_results_path BIN CONFIG: the results file a sweep of CONFIG writes when no --results is
# given (output.results, resolved by `ordertune config`; relative to the working directory).
ot_results_path() {
  "$1" config --config "$2" | sed -n 's/^  "results": "\(.*\)",\{0,1\}$/\1/p'
}

# Open MPI's mpirun refuses to run as root unless told (containers, CI); srun does not ask.
ot_allow_root_mpirun() {
  if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
}

# ot_run_stoppable CMD...: runs CMD (the launcher of the ranks: srun or mpirun) in the
# background and waits for it, forwarding SIGUSR1, SIGTERM and SIGINT to it as SIGUSR1: srun
# passes signals on to its tasks and mpirun passes SIGUSR1 on to its ranks, and every rank of
# `ordertune sweep` then stops at its next training step, closes the results file and exits 0.
# (SIGUSR1 rather than SIGTERM because mpirun answers SIGTERM by killing the ranks.) Bash runs
# a trap only between commands, hence the background launcher and `wait`.
# Sets ot_rc (the launcher's exit status) and ot_signal (USR1, TERM or INT: the first that came,
# except that TERM or INT outranks USR1; empty if none).
ot_run_stoppable() {
  ot_signal=""
  _ot_signals=0
  _ot_launcher_pid=""
  trap '_ot_forward USR1' USR1
  trap '_ot_forward TERM' TERM
  trap '_ot_forward INT' INT
  "$@" &
  _ot_launcher_pid=$!
  [ -z "$ot_signal" ] || kill -USR1 "$_ot_launcher_pid" 2>/dev/null || true
  local seen
  while :; do
    seen=$_ot_signals
    ot_rc=0
    wait "$_ot_launcher_pid" || ot_rc=$?
    # A trap interrupts `wait` (status > 128): wait again for the launcher itself.
    [ "$ot_rc" -gt 128 ] && [ "$_ot_signals" != "$seen" ] && continue
    break
  done
  _ot_launcher_pid=""
  trap - USR1 TERM INT
}

_ot_forward() {
  _ot_signals=$(( _ot_signals + 1 ))
  if [ -z "$ot_signal" ] || [ "$ot_signal" = USR1 ]; then ot_signal=$1; fi
  echo "${ot_script_name:-ordertune}: SIG$1 received; the ranks stop at their next step"
  if [ -n "$_ot_launcher_pid" ]; then kill -USR1 "$_ot_launcher_pid" 2>/dev/null || true; fi
}
