#!/usr/bin/env bash
# End to end: the retrieval targets that fine-tune (Mewsli-X, LAReQA) on the hand-written xtreme
# samples of tests/data: `ordertune run` trains a dual encoder for each (optimizer steps > 0, one
# item per gold pair: 3 Wikipedia pairs and 2 SQuAD questions at batch 2 for 2 epochs give 4 and
# 2 steps) and ranks every language with map@20; the sweep stores the same numbers, with curve
# rows sized for those steps; `plan` accepts targets that train a dual encoder.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
cat > rt.toml <<TOML
[sweep]
name = "retrieval-targets"
seed = 3
threads = 1
[model]
tokenizer = "$S/tests/data/tokenizer/tiny.model"
[model.tiny]
layers = 2
hidden = 32
heads = 4
ffn = 64
pretrain_steps = 20
pretrain_batch_size = 4
[data]
root = "$S/tests/data"
cache = "cache.h5"
max_length = 64
[orders]
mode = "explicit"
explicit = [[]]
[targets]
tasks = ["mewslix", "lareqa"]
[train]
lr = 1e-4
batch_size = 2
epochs = 2.0
[tasks.mlm]
paths = { train = "intermediate/mlm/{lang}.txt", dev = "intermediate/mlm/{lang}.txt" }
languages = { train = ["en"], dev = ["en"] }
[tasks.mewslix]
languages = { train = ["en"], test = ["de"], dev = ["de"] }
[tasks.lareqa]
languages = { train = ["en"], test = ["de", "en"] }
TOML
"$B/ordertune" prepare --config rt.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
"$B/ordertune" run --config rt.toml --order "" --json > run.json 2> run.txt || { tail run.txt; fail "run failed"; }
/usr/bin/python3 - run.json <<'PY' || fail "the retrieval targets did not train and score as expected"
import json, math, sys
r = json.load(open(sys.argv[1]))
t = {x["task"]: x for x in r["targets"]}
assert t["mewslix"]["steps"] == 4 and t["lareqa"]["steps"] == 2, {k: v["steps"] for k, v in t.items()}
assert set(t["mewslix"]["languages"]) == {"de"} and set(t["lareqa"]["languages"]) == {"de", "en"}
for x in t.values():
    assert math.isfinite(x["first_loss"]) and math.isfinite(x["last_loss"])
    for lang in x["languages"].values():
        assert 0 <= lang["map@20"] <= 100, lang
PY
mpirun -np 1 "$B/ordertune" sweep --config "$work/rt.toml" --results r.h5 > sweep.txt 2>&1 || { tail sweep.txt; fail "sweep failed"; }
"$B/ordertune" results r.h5 > table.csv
/usr/bin/python3 - run.json table.csv r.h5 <<'PY' || fail "the sweep's retrieval numbers differ from ordertune run's"
import csv, json, sys, h5py
r = json.load(open(sys.argv[1]))
want = {(x["task"], lang, "map@20"): v["map@20"] for x in r["targets"] for lang, v in x["languages"].items()}
got = {(row["target"], row["language"], row["metric"]): float(row["value"]) for row in csv.DictReader(open(sys.argv[2]))}
assert set(got) == set(want), (got, want)
for k in want: assert abs(got[k] - want[k]) < 1e-9, (k, got[k], want[k])
with h5py.File(sys.argv[3], "r") as f:
    steps = dict(zip([t.decode() for t in f["plan/task"][:]], f["nodes/steps"][:]))
    off = f["curves/offset"][:]
    assert steps["mewslix"] == 4 and steps["lareqa"] == 2, steps
    assert list(off[1:] - off[:-1])[1:] == [4, 2], off
PY
"$B/ordertune" plan --config rt.toml --json > plan.json
echo "retrieval_targets: ok"
