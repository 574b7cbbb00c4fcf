#!/usr/bin/env bash
# End to end: a target trained after a pre-stage ([targets.<task>] before, XTREME-R's SIQA then
# COPA for XCOPA), on the demo at a tenth of its size: xnli after hellaswag, under the orders []
# and [mnli]. Checks: the plan has the pre-stage nodes (hellaswag, mnli>hellaswag) and the leaves
# keep their orders; the sweep (2 ranks) gives per language exactly what `ordertune run` gives for
# the same order, which trains the pre-stage on a copy of the order's encoder (scores, and the
# leaf's loss curve); and the pre-stage changes the target's training (its first loss differs
# from the same run without it; the tiny model's accuracy at this size may not move).
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
sed -e 's/^demo = true$/demo = true\ndemo_scale = 0.1/' \
    -e 's/^pretrain_steps = .*/pretrain_steps = 40/' \
    -e 's/^epochs = .*/epochs = 1.0/' \
    -e 's/^replicates = .*/replicates = 1/' -e 's/^\[sweep\]$/[sweep]\nthreads = 1/' \
    -e 's/^mode = "k_permutations"$/mode = "explicit"\nexplicit = [[], ["mnli"]]/' \
    -e '/^stages = \[/d' -e '/^lengths = \[/d' \
    -e 's/^tasks = \["xnli", "udpos", "xquad", "tatoeba"\]$/tasks = ["xnli"]/' \
    "$S/configs/demo.toml" > plain.toml
grep -q '^explicit = \[\[\], \["mnli"\]\]$' plain.toml && grep -q '^threads = 1$' plain.toml && grep -q '^tasks = \["xnli"\]$' plain.toml \
  || fail "could not reduce configs/demo.toml"
sed -e 's/^tasks = \["xnli"\]$/tasks = ["xnli"]\n\n[targets.xnli]\nbefore = ["hellaswag"]/' plain.toml > pre.toml
grep -q '^before = \["hellaswag"\]$' pre.toml || fail "could not add the pre-stage"
"$B/ordertune" prepare --config pre.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }

"$B/ordertune" plan --config pre.toml --json > plan.json 2> /dev/null || fail "plan failed"
/usr/bin/python3 - plan.json <<'PY' || fail "the plan does not have the pre-stage nodes"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["stage_runs"] == 3 and p["target_runs"] == 2 and p["nodes"] == 6, p
PY
mpirun -np 2 "$B/ordertune" sweep --config "$work/pre.toml" --results pre.h5 > sweep.txt 2>&1 \
  || { tail sweep.txt; fail "sweep failed"; }
"$B/ordertune" results pre.h5 > table.csv
/usr/bin/python3 - pre.h5 <<'PY' || fail "the results file does not hang the leaves below the pre-stages"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    path = [p.decode() if isinstance(p, bytes) else str(p) for p in f["plan/path"][:]]
    kind, parent = f["plan/kind"][:], f["plan/parent"][:]
    leaves = {path[i]: path[parent[i]] for i in range(len(kind)) if kind[i] == 2}
    assert leaves == {"": "hellaswag", "mnli": "mnli>hellaswag"}, leaves
PY
for order in "" mnli; do
  "$B/ordertune" run --config pre.toml --order "$order" --threads 1 --json > "run-$order.json" 2> /dev/null \
    || fail "run --order '$order' failed"
  "$B/ordertune" run --config plain.toml --order "$order" --threads 1 --json > "plain-$order.json" 2> /dev/null \
    || fail "run --order '$order' without the pre-stage failed"
  /usr/bin/python3 - "run-$order.json" "plain-$order.json" table.csv "$order" pre.h5 <<'PY' \
    || fail "order '$order': the sweep's numbers differ from ordertune run's, or the pre-stage changed nothing"
import csv, json, sys, h5py
run, plain = (json.load(open(p))["targets"][0] for p in sys.argv[1:3])
order = sys.argv[4]
got = {row["language"]: float(row["value"]) for row in csv.DictReader(open(sys.argv[3]))
       if row["order"] == order and row["target"] == "xnli" and row["metric"] == "accuracy"}
want = {lang: m["accuracy"] for lang, m in run["languages"].items() if "split" in m}
assert got and set(got) == set(want), (got, want)
for lang in want: assert abs(got[lang] - want[lang]) < 1e-9, (lang, got[lang], want[lang])
# The leaf's training curve in the file (float32) starts and ends as run's.
with h5py.File(sys.argv[5], "r") as f:
    path = [p.decode() if isinstance(p, bytes) else str(p) for p in f["plan/path"][:]]
    kind, off, loss = f["plan/kind"][:], f["curves/offset"][:], f["curves/loss"][:]
    leaf = [i for i in range(len(kind)) if kind[i] == 2 and path[i] == order][0]
    curve = loss[off[leaf]:off[leaf + 1]]
assert len(curve) == run["steps"], (len(curve), run["steps"])
for a, b in ((curve[0], run["first_loss"]), (curve[-1], run["last_loss"])):
    assert abs(a - b) <= 1e-6 * abs(b), (a, b)
# The pre-stage trained: the target starts from another encoder (its first loss differs).
assert plain["first_loss"] != run["first_loss"], "the pre-stage changed nothing"
PY
done
echo "target_prestage: ok (table: $(($(wc -l < table.csv) - 1)) rows)"
