# Sourced by end-to-end tests (not a test itself). Waiting on a condition, never on a delay: a
# loaded or slow machine must not turn a test's "kill it mid-sweep" into "kill it before it wrote
# anything" or "kill it after it finished".
#
# done_nodes FILE: how many nodes FILE marks done (0 while the file does not exist yet or is
# still being created).
done_nodes() {
  [ -f "$1" ] || { echo 0; return 0; }
  /usr/bin/python3 - "$1" 2> /dev/null <<'PY' || echo 0
import sys, h5py
with h5py.File(sys.argv[1], "r", locking=False) as f:
    print(int((f["nodes/status"][:] == 1).sum()))
PY
}

# wait_for_done_nodes FILE N PID [SECONDS]: returns once FILE marks at least N nodes done while
# process PID (the sweep's mpirun) still runs. Fails, naming what happened, when PID ends first
# or when SECONDS (default 600: a generous bound, not a timing) pass.
wait_for_done_nodes() {
  local file=$1 want=$2 pid=$3 limit=${4:-600} start=$SECONDS n=0
  while [ $(( SECONDS - start )) -lt "$limit" ]; do
    n=$(done_nodes "$file")
    [ "$n" -ge "$want" ] && return 0
    kill -0 "$pid" 2> /dev/null || { echo "FAIL: the sweep (pid $pid) ended with $n node(s) done in $file, before $want were"; exit 1; }
    sleep 0.2
  done
  echo "FAIL: $file had $n node(s) done after ${limit} s, waiting for $want"; exit 1
}
