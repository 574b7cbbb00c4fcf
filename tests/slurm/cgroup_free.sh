#!/usr/bin/env bash
# Slurm: the throwaway cluster (tests/slurm/lib/cluster.sh) needs no cgroup setup. In a private
# mount namespace, /sys/fs/cgroup is replaced by what containers and chroots offer — an empty
# tmpfs, a plain cgroup2 mount, nothing at all — and each time the cluster must start and run a
# 2-task job step to its end (slurmd's default cgroup autodetection dies at start on the first
# and last: "Unable to initialize cgroup plugin"). Skipped, with one line saying why, where this
# process may not make a mount namespace (not root, or a seccomp profile forbids unshare).
set -euo pipefail
S=${ORDERTUNE_SOURCE:?}
fail() { echo "FAIL: $*"; exit 1; }
if ! unshare -m true 2> /dev/null; then
  echo "SKIP: cannot create a private mount namespace here (unshare -m failed: needs root and no seccomp block); the other Slurm tests still run on this host's cgroup layout"
  exit 77
fi
export S
cluster_runs_a_job() {  # run inside the namespace, after the mount
  . "$S/tests/slurm/lib/cluster.sh"
  slurm_cluster_start 2
  cd "$SLURM_TEST_DIR/work"
  local job
  job=$(sbatch --parsable -n 2 --wrap 'srun printf "step-ok\n"')
  slurm_wait_job "$job" 120
  [ "$(grep -c '^step-ok$' "slurm-$job.out")" = 2 ] || { cat "slurm-$job.out"; fail "the job step did not run on 2 tasks"; }
}
export -f cluster_runs_a_job fail
for layout in "empty tmpfs:mount -t tmpfs none /sys/fs/cgroup" \
              "plain cgroup2:mount -t cgroup2 none /sys/fs/cgroup" \
              "no /sys/fs/cgroup:mount -t tmpfs none /sys/fs"; do
  name=${layout%%:*}; how=${layout#*:}
  unshare -m bash -c "set -euo pipefail; mount --make-rprivate / 2>/dev/null || true; $how || { echo 'SKIP: cannot mount in the namespace'; exit 77; }; cluster_runs_a_job" \
    > "/tmp/cgroup_free.$$.log" 2>&1 || { rc=$?; cat "/tmp/cgroup_free.$$.log"; rm -f "/tmp/cgroup_free.$$.log"; [ $rc = 77 ] && exit 77; fail "the cluster failed with $name"; }
  rm -f "/tmp/cgroup_free.$$.log"
  echo "cgroup_free: $name: cluster started, 2-task step ran"
done
echo "cgroup_free: OK"
