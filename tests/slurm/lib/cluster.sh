# Sourced by the Slurm tests (not a test itself: CTest registers tests/slurm/*.sh only).
# A throwaway single-node Slurm cluster in a temporary directory, never touching /etc/slurm:
#
#   . "$S/tests/slurm/lib/cluster.sh"
#   slurm_cluster_start [CPUS]   # slurm.conf, state and spool dirs, logs under $SLURM_TEST_DIR;
#                                # exports SLURM_CONF; returns once the node is idle
#   cd "$SLURM_TEST_DIR/work"    # a scratch directory for the test, removed on exit
#   sbatch ... ; slurm_wait_job JOBID [SECONDS]
#
# Daemons run in the foreground (-D) as children of the test's shell, so their ids are known;
# an EXIT trap (also taken on INT and TERM) cancels every job of this cluster, waits for them to
# end, stops both daemons by id and removes the directory. A daemon that fails to start prints
# its log and the test fails with one line.
#
# The configuration (src/DESIGN.md, "Platform facts"; Slurm 22.05 from Debian 12, running as root
# without munge):
#   AuthType=auth/none, CredType=cred/none      no munged needed (test clusters only!)
#   AuthInfo=cred_expire=10                     a requeued job may start again 10 s after it
#                                               ended (default 120 s)
#   ProctrackType=proctrack/linuxproc          no cgroup setup in containers; still finds every
#                                               descendant of a job step, so requeue/scancel
#                                               signal the MPI ranks
#   TaskPlugin=task/none                        no CPU binding (CPUs are over-declared, below)
#   SelectType=select/cons_tres, CR_CPU         CPUs are the only consumable resource
#   SlurmdParameters=config_overrides           the node may declare more CPUs than the machine
#                                               has (CI machines have 2 cores; the tests run 3
#                                               tasks), without the node being drained for it;
#                                               64 GB of memory too, so the job scripts' own
#                                               --mem requests are accepted (CR_CPU: memory is
#                                               not a consumable, only checked at submission)
#   SchedulerType=sched/builtin, sched_interval a requeued job starts within seconds instead of
#                                               waiting for the next backfill pass
#   KillWait=20                                 a requeued/cancelled job gets SIGTERM, and SIGKILL
#                                               20 s later (the sweep stops at its next step)
#   MinJobAge=600                               finished jobs stay visible to scontrol (their
#                                               state and restart count are checked)
#   cgroup.conf: CgroupPlugin=cgroup/v1         slurmd initialises a cgroup plugin at start
#                                               whatever the other plugins are; the default
#                                               (autodetect) dies where /sys/fs/cgroup is not
#                                               what it expects (an empty tmpfs, a hybrid
#                                               mount without systemd's hierarchy, none at all:
#                                               containers, chroots). Named explicitly, the v1
#                                               plugin only loads, and nothing here uses it
#                                               (proctrack/linuxproc, task/none). Checked on an
#                                               empty tmpfs, a cgroup2 mount and no mount at all
#                                               by tests/slurm/cgroup_free.sh.
# Ports: two free TCP ports picked at random (a second cluster, e.g. a developer's, may run).

SLURM_TEST_DIR=""
_slurm_ctld_pid=""
_slurm_d_pid=""
_slurm_watchdog_pid=""

_slurm_fail() { echo "FAIL: $*"; exit 1; }

# A TCP port nobody listens on (a connect to it is refused).
_slurm_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

_slurm_show_logs() {
  local f
  if [ -n "${1:-}" ]; then  # a job: its output file first
    f=$(scontrol show job "$1" 2>/dev/null | sed -n 's/^ *StdOut=//p' | head -1)
    if [ -n "$f" ] && [ -f "$f" ]; then echo "---- $f (job $1, last 30 lines)"; tail -30 "$f"; fi
  fi
  for f in "$SLURM_TEST_DIR"/log/slurmctld.log "$SLURM_TEST_DIR"/log/slurmd.log; do
    [ -f "$f" ] || continue
    echo "---- $f (last 30 lines)"
    tail -30 "$f"
  done
}

slurm_cluster_stop() {
  [ -n "$SLURM_TEST_DIR" ] || return 0
  if [ -n "$_slurm_ctld_pid" ] && kill -0 "$_slurm_ctld_pid" 2>/dev/null; then
    # Jobs first: their slurmstepd processes are not children of this shell.
    scancel --quiet --user=root 2>/dev/null || true
    for _ in $(seq 1 30); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  local pid
  for pid in $_slurm_watchdog_pid $_slurm_d_pid $_slurm_ctld_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $_slurm_d_pid $_slurm_ctld_pid; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  _slurm_d_pid=""; _slurm_ctld_pid=""; _slurm_watchdog_pid=""
  rm -rf "$SLURM_TEST_DIR"
  SLURM_TEST_DIR=""
}

slurm_cluster_start() {
  local cpus=${1:-4}
  command -v slurmctld > /dev/null && command -v slurmd > /dev/null && command -v sbatch > /dev/null \
    || _slurm_fail "Slurm is not installed (slurmctld, slurmd, slurm-client: setup/install-deps.sh)"
  # Under /tmp, not $TMPDIR: slurmstepd's and PMIx's unix sockets live in the spool directory,
  # and socket paths are limited to 107 characters.
  SLURM_TEST_DIR=$(mktemp -d /tmp/ordertune-slurm.XXXXXX)
  trap 'slurm_cluster_stop' EXIT
  trap 'exit 130' INT TERM
  local d=$SLURM_TEST_DIR
  mkdir -p "$d/state" "$d/spool" "$d/log" "$d/run" "$d/work"
  local ctld_port d_port host
  ctld_port=$(_slurm_free_port) && d_port=$(_slurm_free_port) || _slurm_fail "no free TCP port"
  [ "$ctld_port" != "$d_port" ] || d_port=$(( ctld_port + 1 ))
  host=$(hostname -s)
  SLURM_CLUSTER_NAME="ot$(basename "$d" | tr -dc 'a-z0-9' | tail -c 8)"
  cat > "$d/slurm.conf" <<EOF
# Generated by tests/slurm/lib/cluster.sh for one test; see the comments there.
ClusterName=${SLURM_CLUSTER_NAME}
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
AuthInfo=cred_expire=10
CredType=cred/none
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
KillWait=20
InactiveLimit=0
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
StateSaveLocation=${d}/state
SlurmdSpoolDir=${d}/spool
SlurmctldPidFile=${d}/run/slurmctld.pid
SlurmdPidFile=${d}/run/slurmd.pid
SlurmctldLogFile=${d}/log/slurmctld.log
SlurmdLogFile=${d}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=65536 State=UNKNOWN
PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
  # Read from the folder of slurm.conf; see the header.
  printf '# Generated by tests/slurm/lib/cluster.sh: no cgroups needed (see there).\nCgroupPlugin=cgroup/v1\n' > "$d/cgroup.conf"
  export SLURM_CONF="$d/slurm.conf"
  # Clients and jobs must not pick up settings of an outer allocation or another cluster.
  unset SLURM_JOB_ID SLURM_JOBID SLURM_NTASKS SLURM_NPROCS SLURM_CLUSTERS

  slurmctld -D -i -f "$SLURM_CONF" > "$d/log/slurmctld.out" 2>&1 &
  _slurm_ctld_pid=$!
  for _ in $(seq 1 60); do
    kill -0 "$_slurm_ctld_pid" 2>/dev/null || { _slurm_show_logs; cat "$d/log/slurmctld.out"; _slurm_fail "slurmctld exited at start"; }
    scontrol ping 2>/dev/null | grep -q "UP" && break
    sleep 0.5
  done
  scontrol ping 2>/dev/null | grep -q "UP" || { _slurm_show_logs; _slurm_fail "slurmctld did not answer within 30 s"; }

  slurmd -D -f "$SLURM_CONF" -N "$host" > "$d/log/slurmd.out" 2>&1 &
  _slurm_d_pid=$!
  local state=""
  for _ in $(seq 1 60); do
    kill -0 "$_slurm_d_pid" 2>/dev/null || { _slurm_show_logs; cat "$d/log/slurmd.out"; _slurm_fail "slurmd exited at start"; }
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null)
    if [ "$state" = "idle" ]; then
      # Should this shell die without running its EXIT trap (SIGKILL, e.g. a CTest timeout),
      # the daemons still go: a watchdog stops them when the test's shell is gone.
      ( while kill -0 $$ 2>/dev/null; do sleep 2; done
        kill -TERM "$_slurm_d_pid" "$_slurm_ctld_pid" 2>/dev/null; sleep 2; rm -rf "$d" ) > /dev/null 2>&1 &
      _slurm_watchdog_pid=$!
      return 0
    fi
    sleep 0.5
  done
  _slurm_show_logs
  _slurm_fail "the node did not become idle within 30 s (state '${state}')"
}

# slurm_job_state JOBID: PENDING, RUNNING, COMPLETED, FAILED, ... (empty if unknown).
slurm_job_state() {
  scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1
}

# slurm_wait_job JOBID [SECONDS]: waits until the job has ended; fails on timeout or when it
# did not complete (prints its state, the daemons' logs and the job's output file).
slurm_wait_job() {
  local job=$1 limit=${2:-600} state="" start=$SECONDS
  while [ $(( SECONDS - start )) -lt "$limit" ]; do
    state=$(slurm_job_state "$job")
    case "$state" in
      COMPLETED) return 0 ;;
      FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
        scontrol show job "$job"; _slurm_show_logs "$job"
        _slurm_fail "job $job ended $state" ;;
    esac
    sleep 1
  done
  scontrol show job "$job"; _slurm_show_logs "$job"
  _slurm_fail "job $job not done within ${limit} s (state '$state')"
}

# slurm_wait_for JOBID STATE [SECONDS]: waits until the job is in STATE.
slurm_wait_for() {
  local job=$1 want=$2 limit=${3:-120} start=$SECONDS
  while [ $(( SECONDS - start )) -lt "$limit" ]; do
    [ "$(slurm_job_state "$job")" = "$want" ] && return 0
    sleep 0.5
  done
  scontrol show job "$job"; _slurm_show_logs "$job"
  _slurm_fail "job $job not $want within ${limit} s (state '$(slurm_job_state "$job")')"
}
