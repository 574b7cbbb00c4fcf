# Sourced by the fault tests of tests/faults/ (not a test itself: CTest registers tests/e2e/*.sh
# and tests/faults/*.sh only). Needs fail() defined by the test, and $OT (the ordertune binary).
#
# The issue 16 rules for a failing command: a non-zero exit, exactly one error line, no stack
# trace, no HDF5 error stack, and the input files unchanged.

# tiny_plan_config SOURCE OUT [EPOCHS]: small_demo_config (small_demo.sh, which must be sourced
# first) reduced to a plan of 4 nodes: the root, the stage mnli, and the target xnli after "" and
# after mnli. On 3 ranks, once the root is done only 2 nodes can run (mnli and xnli after ""), so
# one worker waits with nothing to do until the end; on 1 rank the whole sweep takes a few
# seconds. EPOCHS (default 1) sets train.epochs: with 10, mnli and xnli train 70 steps each
# (seconds), so that a moment inside a node lasts longer than reading the file takes.
tiny_plan_config() {
  local source=$1 out=$2 epochs=${3:-1}
  small_demo_config "$source" "$out.small"
  sed -e 's/^stages = \[.*\]$/stages = ["mnli"]/' \
      -e "s/^epochs = .*/epochs = $epochs.0/" \
      -e 's/^lengths = \[.*\]$/lengths = [0, 1]/' \
      -e '/^\[targets\]$/,/^$/s/^tasks = \[.*\]$/tasks = ["xnli"]/' "$out.small" > "$out"
  rm -f "$out.small"
  grep -q '^stages = \["mnli"\]$' "$out" && grep -q '^lengths = \[0, 1\]$' "$out" \
    && grep -q '^tasks = \["xnli"\]$' "$out" && grep -q "^epochs = $epochs.0\$" "$out" || {
    echo "FAIL: could not reduce the plan of $source/configs/demo.toml (its lines changed?)"; return 1; }
}

# set_output OUT KEY VALUE: adds `KEY = VALUE` to the [output] table of config OUT (in place).
set_output() {
  sed -i -e "s|^results = .*|&\n$2 = $3|" "$1"
  grep -q "^$2 = $3\$" "$1" || { echo "FAIL: could not set output.$2 in $1"; return 1; }
}

# pid_of_rank PATTERN RANK: the process of MPI world rank RANK among those whose command line
# matches PATTERN (pgrep -f). mpirun sets OMPI_COMM_WORLD_RANK in each rank's environment; mpirun
# itself, whose command line matches too, has none.
pid_of_rank() {
  local p
  for p in $(pgrep -f "$1" || true); do
    if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$p"; return 0
    fi
  done
  return 1
}

# ends_within PID SECONDS: waits for the background job PID to end; returns 1 if it still runs
# after SECONDS. Sets ENDED_AFTER to the seconds it took.
ends_within() {
  local pid=$1 limit=$2 start=$SECONDS
  while kill -0 "$pid" 2> /dev/null && [ $((SECONDS - start)) -le "$limit" ]; do sleep 0.2; done
  ENDED_AFTER=$((SECONDS - start))
  ! kill -0 "$pid" 2> /dev/null
}

# has_stack_trace FILE: whether FILE shows a C++ stack trace or an uncaught exception.
has_stack_trace() { grep -Eq "c10::Error|terminate called|frame #|Exception raised from" "$1"; }

# node_table FILE: one tab-separated line per plan node of results FILE: id, kind (0 root, 1 stage,
# 2 target), status (1 done), rank, started (1 when its start time is set), name. Nothing while
# FILE does not exist or cannot be read.
node_table() {
  [ -f "$1" ] || return 0
  /usr/bin/python3 - "$1" 2> /dev/null <<'PY' || true
import math, sys, h5py
with h5py.File(sys.argv[1], "r", locking=False) as f:
    kind, status = f["plan/kind"][:], f["nodes/status"][:]
    rank, start, name = f["nodes/rank"][:], f["nodes/start_time"][:], f["plan/name"][:]
    for i in range(len(kind)):
        n = name[i].decode() if isinstance(name[i], bytes) else str(name[i])
        print(i, int(kind[i]), int(status[i]), int(rank[i]), int(not math.isnan(start[i])), n,
              sep="\t")
PY
}

# expect_refusal WHAT ERR RC NAME SUM...: the issue 16 rules for a command that must fail: RC
# non-zero (and not a death by signal), exactly one line in ERR (its stderr; with ALLOW_LOG_LINES
# set, one line besides the sweep's progress lines, and last), no stack trace, no
# HDF5 error stack, the line names NAME (the bad file; no check when NAME is empty); SUM... are
# `md5sum` lines taken before, which must still hold. Prints one "ok" or "FAIL" line (with the
# stderr) and returns 1 on failure (the caller counts), so that one run reports every case.
expect_refusal() {
  local what=$1 err=$2 rc=$3 name=$4; shift 4
  local why=""
  [ "$rc" -ne 0 ] || why+="exit 0; "
  [ "$rc" -lt 128 ] || why+="killed by signal $((rc - 128)); "
  # ALLOW_LOG_LINES=1: damage found once the sweep runs (splits load when a node first needs
  # them) follows the sweep's own progress lines; the error is still one line, the last.
  local lines
  if [ -n "${ALLOW_LOG_LINES:-}" ]; then
    lines=$(grep -cvE '^\[ordertune r[0-9]+ \+[0-9.]+s\] ' "$err" || true)
    ! tail -n 1 "$err" | grep -qE '^\[ordertune r' || why+="the error is not the last line; "
  else
    lines=$(wc -l < "$err")
  fi
  [ "$lines" -eq 1 ] || why+="$lines lines on stderr; "
  ! has_stack_trace "$err" || why+="a stack trace; "
  ! grep -q "HDF5-DIAG" "$err" || why+="an HDF5 error stack; "
  [ -z "$name" ] || grep -qF -- "$name" "$err" || why+="the line does not name $name; "
  local sums
  for sums in "$@"; do
    md5sum --status -c <<< "$sums" 2> /dev/null || why+="${sums#*  } changed; "
  done
  if [ -z "$why" ]; then
    echo "ok   $what (exit $rc): $(head -c 400 "$err")"
    return 0
  fi
  echo "FAIL $what: ${why%; }"
  echo "     stderr (exit $rc): $(head -c 1200 "$err" | sed '2,$s/^/     | /')"
  return 1
}
