#!/usr/bin/env bash
# ordertune on a workstation (no Slurm): `ordertune prepare` (the data cache; reused when up to
# date), then `mpirun -np RANKS ordertune sweep` into the config's output.results, then the
# sweep's status. Re-running the same command resumes an interrupted sweep.
#
#   jobscripts/local.sh CONFIG [RANKS]
#
# Resources: RANKS MPI ranks on this machine (default 2); threads per rank from the config's
# sweep.threads (0: cores / ranks); a GPU per rank when LibTorch sees CUDA (cuda:rank % GPUs).
# More ranks than cores is allowed, but slower than fewer ranks with more threads each.
# Cost: the demo (configs/demo.toml) on 2 ranks takes about 5 minutes on 2 cores; the real
# XTREME-R sweeps are for a cluster (jobscripts/sweep.sbatch: ~18,000 GPU-hours for
# configs/xtreme-r-triples.toml; `build/ordertune plan --config C --ranks N --simulate`).
# Stopping: SIGTERM or SIGUSR1 to this script (kill PID) stops every rank at its next step and
# keeps everything done (nodes in flight write a resume snapshot); Ctrl-C reaches the ranks
# directly (the nodes in flight continue from their last periodic snapshot).
# Binary: $ORDERTUNE_BIN if set, else build/ordertune of this checkout.
set -euo pipefail
ot_script_name=local.sh

usage="usage: jobscripts/local.sh CONFIG [RANKS]"
case "${1:-}" in -h|--help) echo "$usage"; exit 0 ;; esac
[ $# -ge 1 ] && [ $# -le 2 ] && [ -n "$1" ] && [[ "${2:-2}" =~ ^[1-9][0-9]*$ ]] \
  || { echo "$usage" >&2; exit 2; }

ORDERTUNE_HOME=${ORDERTUNE_HOME:-$(dirname "${BASH_SOURCE[0]}")/..}
. "$ORDERTUNE_HOME/jobscripts/common.sh"

config=$1
ranks=${2:-2}
ot_require_config "$config"
OT=$(ot_binary)
results=$(ot_results_path "$OT" "$config")

start=$SECONDS
cache=$("$OT" prepare --config "$config")
echo "$ot_script_name: data cache ready: $cache ($(( SECONDS - start )) s)"

ot_allow_root_mpirun
echo "$ot_script_name: sweep on $ranks rank(s): results $results"
# --oversubscribe: mpirun counts physical cores as slots (nproc counts hardware threads), and
# refuses more ranks than slots without it.
ot_run_stoppable mpirun -np "$ranks" --oversubscribe "$OT" sweep --config "$config"
[ "$ot_rc" -eq 0 ] || ot_die "$ot_rc" "the sweep failed (exit $ot_rc); fix the cause and run the same command: it resumes"
"$OT" status "$results"
[ -z "$ot_signal" ] || echo "$ot_script_name: stopped by SIG$ot_signal; run the same command to continue"
echo "$ot_script_name: $(( SECONDS - start )) s in all"
