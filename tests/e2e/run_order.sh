#!/usr/bin/env bash
# End to end: `ordertune run` trains one order of the demo (small scale) through every target.
# Checks: every target reports per-language official metrics; two runs print identical results
# (determinism: same seeds, same thread count); replicates differ; bad --order / --replicate give
# one line and exit 2.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
PY=/usr/bin/python3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# The demo at a tenth of its size, a short pretraining and one epoch per stage.
sed -e 's/^demo = true$/demo = true\ndemo_scale = 0.1/' \
    -e 's/^pretrain_steps = .*/pretrain_steps = 40/' \
    -e 's/^epochs = .*/epochs = 1.0/' "$S/configs/demo.toml" > demo.toml
grep -q '^pretrain_steps = 40' demo.toml || fail "could not shorten the demo config"
"$B/ordertune" prepare --config demo.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }

"$B/ordertune" run --config demo.toml --order "mnli>hellaswag" --threads 1 --json > r1.json 2> log1.txt \
  || { cat log1.txt; fail "run failed"; }
"$B/ordertune" run --config demo.toml --order "mnli>hellaswag" --threads 1 --json > r2.json 2> /dev/null
"$B/ordertune" run --config demo.toml --order "mnli>hellaswag" --replicate 1 --threads 1 --json > r3.json 2> /dev/null
grep -q "mnli>hellaswag: .* steps/s" log1.txt || { cat log1.txt; fail "no per-stage speed line"; }

$PY - <<'PY' || fail "results check failed"
import json
def load(p):
    r = json.load(open(p))
    # Timing differs between runs; everything else must not.
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if k not in ("train_seconds", "eval_seconds", "steps_per_s", "tokens_per_s")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return r, strip(r)
r1, s1 = load("r1.json"); _, s2 = load("r2.json"); _, s3 = load("r3.json")
assert r1["order"] == "mnli>hellaswag", r1["order"]
assert [s["stage"] for s in r1["stages"]] == ["mnli", "hellaswag"]
assert [t["task"] for t in r1["targets"]] == ["xnli", "udpos", "xquad", "tatoeba"]
keys = {"xnli": {"accuracy"}, "udpos": {"f1", "precision", "recall"},
        "xquad": {"exact_match", "f1"}, "tatoeba": {"accuracy"}}
for t in r1["targets"]:
    langs = t["languages"]
    assert set(langs) >= {"sa", "sb", "sc"}, (t["task"], list(langs))
    for lang, m in langs.items():
        assert keys[t["task"]] <= set(m), (t["task"], lang, m)
        for k in keys[t["task"]]:
            assert 0.0 <= m[k] <= 100.0, (t["task"], lang, k, m[k])
    assert 0.0 <= t["score"] <= 100.0
for s in r1["stages"]:
    assert s["steps"] > 0 and s["steps_per_s"] > 0
assert s1 == s2, "two identical runs differ"
assert s1["stages"] != s3["stages"], "replicate 1 trained exactly like replicate 0"
PY

# Bad input: one line, exit 2.
set +e
"$B/ordertune" run --config demo.toml --order "mnli>nosuchtask" > /dev/null 2> bad1.txt; rc1=$?
"$B/ordertune" run --config demo.toml --replicate 7 > /dev/null 2> bad2.txt; rc2=$?
# bf16 autocast on a machine without a GPU (CI's): LibTorch 1.13 refuses it by name, before any
# work; LibTorch 2.x trains bf16 on the CPU.
sed 's/^\[model.tiny\]/[model]\ndtype = "bf16"\n\n[model.tiny]/' demo.toml > bf16.toml
ORDERTUNE_DEVICE=cpu "$B/ordertune" run --config bf16.toml --order mnli > /dev/null 2> bad3.txt; rc3=$?
# --threads has sweep.threads' bounds (100000 once started that many threads and hung).
"$B/ordertune" run --config demo.toml --order mnli --threads 100000 > /dev/null 2> bad4.txt; rc4=$?
"$B/ordertune" run --config demo.toml --order mnli --threads -1 > /dev/null 2> bad5.txt; rc5=$?
set -e
for i in 4 5; do
  rc=$([ $i -eq 4 ] && echo $rc4 || echo $rc5)
  [ "$rc" -eq 2 ] && grep -q -- "--threads: Value .* not in range 0 to 1024" bad$i.txt \
    || { cat bad$i.txt; fail "--threads out of range: rc $rc"; }
done
[ $rc1 -eq 2 ] && [ "$(wc -l < bad1.txt)" -eq 1 ] && grep -q "^ordertune: --order: .*'nosuchtask'" bad1.txt \
  || { cat bad1.txt; fail "bad --order: rc $rc1"; }
[ $rc2 -eq 2 ] && [ "$(wc -l < bad2.txt)" -eq 1 ] && grep -q "replicate" bad2.txt \
  || { cat bad2.txt; fail "bad --replicate: rc $rc2"; }
grep -q '^dtype = "bf16"' bf16.toml || fail "could not set model.dtype"
if grep -q "LibTorch 1\." <<< "$("$B/ordertune" version)"; then
  [ $rc3 -eq 2 ] && [ "$(wc -l < bad3.txt)" -eq 1 ] && grep -q 'model.dtype = "bf16": expected a CUDA device, or LibTorch 2.x' bad3.txt \
    || { cat bad3.txt; fail "bf16 on the CPU with LibTorch 1.13: rc $rc3"; }
else
  [ $rc3 -eq 0 ] || { tail -5 bad3.txt; fail "bf16 on the CPU with LibTorch 2.x: rc $rc3"; }
fi
echo "run_order: ok"
