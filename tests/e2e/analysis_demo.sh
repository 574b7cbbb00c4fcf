#!/usr/bin/env bash
# End to end: the Python analysis (analysis/) on a real results file of a small demo sweep.
# Checks: a report made MID-sweep (while `ordertune sweep` writes the file) succeeds and says the
# sweep is unfinished, and the sweep still completes; on the finished file the report writes
# report.md with every figure it references and mentions every order; `analysis table` equals
# `ordertune results` row for row (values to 1e-9); the per-language task scores average to the
# sweep's own target_score (metrics.cpp task_score on real metrics); the analysis never changes
# the file; bad input is one line and exit 2.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
PY=/usr/bin/python3
export PYTHONPATH="$S" PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d)
sweep_pid=
cleanup() {
  if [ -n "$sweep_pid" ] && kill -0 "$sweep_pid" 2>/dev/null; then
    kill -TERM "$sweep_pid" 2>/dev/null || true  # ranks stop at their next step (SIGTERM)
    wait "$sweep_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
analysis() { "$PY" -m analysis "$@"; }

. "$S/tests/e2e/lib/small_demo.sh"
small_demo_config "$S" demo.toml
"$B/ordertune" prepare --config demo.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }

# The sweep runs in the background; the report is made as soon as a target leaf is done.
mpirun -np 2 "$B/ordertune" sweep --config "$PWD/demo.toml" --results r.h5 > sweep.txt 2>&1 &
sweep_pid=$!
for _ in $(seq 1 600); do
  kill -0 "$sweep_pid" 2>/dev/null || break
  [ -f r.h5 ] && "$PY" - r.h5 2> /dev/null <<'PY' && break
import sys, h5py
with h5py.File(sys.argv[1], "r", locking=False) as f:
    done = (f["nodes/status"][:] == 1) & (f["plan/kind"][:] == 2)
sys.exit(0 if done.any() else 1)
PY
  sleep 0.5
done
kill -0 "$sweep_pid" 2>/dev/null || fail "the sweep ended before a mid-sweep report could be made: $(tail -3 sweep.txt)"
analysis report r.h5 --out mid > mid.txt 2> mid.err || { cat mid.err; fail "report on the running sweep failed"; }
[ "$(cat mid.txt)" = "mid/report.md" ] || fail "report printed '$(cat mid.txt)', expected mid/report.md"
grep -q "The sweep is not finished" mid/report.md || fail "the mid-sweep report does not say the sweep is unfinished"
wait "$sweep_pid" || fail "the sweep failed after a mid-sweep report: $(tail -5 sweep.txt)"
sweep_pid=

# The finished file.
sum_before=$(sha256sum r.h5)
analysis report r.h5 --out rep > rep.txt 2> rep.err || { cat rep.err; fail "report failed"; }
grep -q "The sweep is \*\*finished\*\*" rep/report.md || fail "the report does not say the sweep is finished"
"$B/ordertune" results r.h5 > cpp.csv
analysis table r.h5 --out py.csv 2> table.err || { cat table.err; fail "analysis table failed"; }
"$PY" - cpp.csv py.csv rep/report.md r.h5 <<'PY' || fail "the analysis disagrees with ordertune (above)"
import csv, math, re, sys
from pathlib import Path
from analysis import load

cpp, py = (list(csv.reader(open(p, newline=""))) for p in sys.argv[1:3])
assert cpp[0] == py[0] == ["seed", "order", "target", "language", "split", "metric", "value"], (cpp[0], py[0])
assert len(cpp) == len(py) and len(cpp) > 100, (len(cpp), len(py))
for i, (a, b) in enumerate(zip(cpp[1:], py[1:]), start=2):
    assert a[:6] == b[:6], f"line {i}: {a} != {b}"
    assert math.isclose(float(a[6]), float(b[6]), rel_tol=0, abs_tol=1e-9), f"line {i}: {a[6]} != {b[6]}"

report = Path(sys.argv[3])
text = report.read_text()
images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
assert len(images) >= 6, images
for image in images:
    assert (report.parent / image).stat().st_size > 1000, image
for order in {row[1] for row in cpp[1:]}:  # every order of the sweep, from the C++ table
    assert (f"`{order}`" if order else "(baseline)") in text, f"order {order!r} not in the report"

# Per-language scores (task_score per language) average to the sweep's target_score.
res = load.load_results(sys.argv[4])
mean = load.language_scores(res).groupby(["seed", "order", "target"])["score"].mean()
for seed, order, target, score in load.target_scores(res).itertuples(index=False):
    assert math.isclose(mean[(seed, order, target)], score, abs_tol=1e-9), (seed, order, target)
print(f"{len(cpp) - 1} rows equal; {len(images)} figures; {len(mean)} target scores match")
PY
[ "$(sha256sum r.h5)" = "$sum_before" ] || fail "the analysis changed the results file"

# Bad input: one line naming the file, exit 2.
set +e
analysis report demo.toml --out bad > bad.out 2> bad.err
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad input: exit $rc, expected 2"
[ "$(wc -l < bad.err)" = 1 ] && grep -q "demo.toml: expected an ordertune results file" bad.err \
  || fail "bad input: expected one line naming demo.toml, got: $(cat bad.err)"
echo "PASS analysis_demo"
