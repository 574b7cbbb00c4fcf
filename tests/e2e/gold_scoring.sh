#!/usr/bin/env bash
# End to end: a target whose download hides its test answers and has no dev split (XQuAD in
# xtreme's layout, tests/data/xtreme/xquad) cannot be scored. prepare warns; `prepare --check`
# lists the file as unlabelled and the target as refused (exit 1); `plan` and `sweep` refuse the
# config in one line that names the target, the language, the gold release and score = "none",
# and the sweep creates no results file. With [targets.xquad] gold pointing at deepmind/xquad's
# answered files (tests/data/gold/xquad) the same config is scored on test; a cache prepared
# before gold was set is refused until prepare runs again; with score = "none" the leaf exports
# its predictions and the table has no row for it.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
config() {  # config FILE [TARGET-TABLE-LINES]
  cat > "$1" <<TOML
[sweep]
name = "gold"
seed = 5
threads = 1
[model]
tokenizer = "$S/tests/data/tokenizer/tiny.model"
[model.tiny]
layers = 1
hidden = 32
heads = 4
ffn = 64
pretrain_steps = 4
pretrain_batch_size = 4
[data]
root = "$S/tests/data"
cache = "$work/cache.h5"
max_length = 64
qa_max_length = 64
qa_stride = 16
qa_max_query_length = 16
[orders]
mode = "explicit"
explicit = [[]]
[targets]
tasks = ["xquad"]
$2
[train]
lr = 1e-4
batch_size = 2
max_steps = 2
[tasks.mlm]
paths = { train = "intermediate/mlm/{lang}.txt", dev = "intermediate/mlm/{lang}.txt" }
languages = { train = ["en"], dev = ["en"] }
[tasks.squad_v1]
paths = { train = "xtreme/squad/train-v1.1.json", dev = "intermediate/jiant/squad_v1/dev-v1.1.json" }
[tasks.xquad]
languages = { test = ["de"] }
TOML
}
one_line() {  # one_line WHAT ERRFILE: exactly one line, no stack trace
  [ "$(wc -l < "$2")" -eq 1 ] || { cat "$2"; fail "$1: expected one error line"; }
  ! grep -Eq "terminate called|c10::Error|HDF5-DIAG" "$2" || { cat "$2"; fail "$1: a stack trace"; }
}

# 1. xtreme's layout: no labels anywhere for xquad/de.
config plain.toml ""
"$OT" prepare --config plain.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
grep -q "target xquad has no labelled split for de" prep.txt || { cat prep.txt; fail "prepare did not warn"; }
rc=0; "$OT" prepare --check --config plain.toml > check.txt 2> err.txt || rc=$?
[ "$rc" -eq 1 ] || { cat check.txt err.txt; fail "prepare --check: exit $rc, expected 1"; }
grep -Eq "^xquad +test +de +present +2 +no " check.txt || { cat check.txt; fail "--check does not list xquad/test/de as present, 2 examples, unlabelled"; }
grep -Eq "^squad_v1 +train +en +present +[0-9]+ +yes " check.txt || { cat check.txt; fail "--check does not list squad_v1's training split"; }
grep -q "xquad not scored: de" check.txt || { cat check.txt; fail "--check does not say xquad/de is not scored"; }
grep -q "refused: .*gold = \"DIR\", DIR holding github.com/deepmind/xquad" check.txt || { cat check.txt; fail "--check does not name the gold release"; }
rc=0; "$OT" plan --config plain.toml > /dev/null 2> err.txt || rc=$?
[ "$rc" -eq 2 ] || { cat err.txt; fail "plan: exit $rc, expected 2"; }
one_line plan err.txt
grep -q "target xquad has no labelled split for de" err.txt && grep -q 'score = \\"none\\"\|score = "none"' err.txt \
  || { cat err.txt; fail "plan's refusal does not name the target, the language and score = \"none\""; }
rc=0; mpirun -np 1 "$OT" sweep --config "$work/plain.toml" --results plain.h5 > out.txt 2> err.txt || rc=$?
[ "$rc" -eq 2 ] || { cat out.txt err.txt; fail "sweep: exit $rc, expected 2"; }
grep -c "^ordertune: " err.txt | grep -qx 1 || { cat err.txt; fail "sweep: expected one error line"; }
grep -q "target xquad has no labelled split for de" err.txt || { cat err.txt; fail "sweep's refusal does not name the target"; }
[ ! -e plain.h5 ] || fail "the refused sweep created a results file"

# 2. gold set, cache not re-prepared: refused, naming the test files.
config gold.toml "[targets.xquad]
gold = \"$S/tests/data/gold/xquad\""
rc=0; "$OT" plan --config gold.toml > /dev/null 2> err.txt || rc=$?
[ "$rc" -ne 0 ] || fail "plan accepted a cache prepared before gold was set"
one_line "stale cache" err.txt
grep -q "prepared with test files .*xtreme/xquad/xquad.{lang}.json" err.txt || { cat err.txt; fail "the stale cache's refusal does not name the test files"; }

# 3. gold prepared: scored on test.
"$OT" prepare --check --config gold.toml > check.txt || { cat check.txt; fail "prepare --check refused the gold config"; }
grep -Eq "^xquad +test +de +present +2 +yes .*tests/data/gold/xquad/xquad.de.json" check.txt || { cat check.txt; fail "--check does not read xquad from the gold folder"; }
grep -q "xquad on test: de" check.txt || { cat check.txt; fail "--check does not score xquad on test"; }
"$OT" prepare --config gold.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare (gold) failed"; }
! grep -q "no labelled split" prep.txt || { cat prep.txt; fail "prepare (gold) still warns"; }
"$OT" plan --config gold.toml > plan.txt 2> err.txt || { cat err.txt; fail "plan (gold) failed"; }
grep -qx "scored: xquad on test" plan.txt || { cat plan.txt; fail "plan does not say xquad is scored on test"; }
mpirun -np 1 "$OT" sweep --config "$work/gold.toml" --results gold.h5 > out.txt 2>&1 || { tail out.txt; fail "sweep (gold) failed"; }
"$OT" results gold.h5 > gold.csv
grep -q "^0,,xquad,de,test,f1," gold.csv && grep -q "^0,,xquad,de,test,exact_match," gold.csv \
  || { cat gold.csv; fail "no xquad/de test scores in the table"; }

# 4. score = "none": accepted, predictions only.
config none.toml "[targets.xquad]
score = \"none\""
"$OT" prepare --config none.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare (score none) failed"; }
"$OT" plan --config none.toml > plan.txt 2> err.txt || { cat err.txt; fail "plan (score none) failed"; }
grep -qx "scored: xquad unscored" plan.txt || { cat plan.txt; fail "plan does not say xquad is unscored"; }
mpirun -np 1 "$OT" sweep --config "$work/none.toml" --results none.h5 > out.txt 2>&1 || { tail out.txt; fail "sweep (score none) failed"; }
! "$OT" results none.h5 | grep -q ",xquad," || fail "score = \"none\" left xquad rows in the table"
"$OT" export --results none.h5 --order "" --predictions sub > /dev/null 2> err.txt || { cat err.txt; fail "export of the score = none leaf failed"; }
[ -s sub/xquad/test-de.json ] || { ls -R sub; fail "score = \"none\": no xquad predictions exported"; }
echo "gold_scoring: ok"
