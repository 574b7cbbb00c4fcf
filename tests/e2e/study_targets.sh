#!/usr/bin/env bash
# End to end: the shipped study config (configs/xtreme-r-triples.toml: its targets, gold
# folders, unscored languages and XCOPA's Social IQa pre-stage) on the committed samples of each
# real layout (tests/data/xtreme: xtreme's download; tests/data/gold: the public answered
# releases; tests/data/intermediate/jiant), with a tiny model and the baseline order only.
# Checks: `prepare --check` finds every file and says which split each target is scored on
# (test where xtreme hides it and a gold release gives it: XQuAD, TyDiQA-GoldP, Tatoeba; test for
# LAReQA, labelled in the download; dev for the others); plan says the same; a 2-rank sweep gives
# every one of the 10 targets metric rows, on that split; XCOPA's leaf trains below its pre-stage.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
T=$S/tests/data

# data/ as the README lays it out: xtreme's download, jiant's export, the gold releases.
mkdir -p data/xtreme data/jiant/squad_v1 data/gold
cp -r "$T/xtreme/." data/xtreme/
cp -r "$T/intermediate/jiant/socialiqa" data/jiant/
cp "$T/xtreme/squad/train-v1.1.json" data/jiant/squad_v1/train-v1.1.json
cp "$T/intermediate/jiant/squad_v1/dev-v1.1.json" data/jiant/squad_v1/dev-v1.1.json
ln -s "$T/intermediate/mlm" data/mlm
for g in xquad tydiqa-goldp-v1.1-dev tatoeba; do ln -s "$T/gold/$g" "data/gold/$g"; done
# Samples the committed set lacks, in the same layouts: UD-POS dev, PAN-X train and test (test
# without tags, as panx_preprocess writes it), MLQA dev (answered) and test (blanked).
printf 'Das\tDET\nHaus\tNOUN\nist\tAUX\ngroß\tADJ\n.\tPUNCT\n\nEr\tPRON\nläuft\tVERB\n.\tPUNCT\n\n' > data/xtreme/udpos/dev-de.tsv
printf 'John\tB-PER\nSmith\tI-PER\nlives\tO\nin\tO\nParis\tB-LOC\n.\tO\n\nAcme\tB-ORG\nCorp\tI-ORG\nhires\tO\n.\tO\n\n' > data/xtreme/panx/train-en.tsv
printf 'Marie\nvit\nà\nLyon\n.\n\n' > data/xtreme/panx/test-fr.tsv
mkdir -p data/xtreme/mlqa/MLQA_V1/dev data/xtreme/mlqa/MLQA_V1/test
cp "$T/gold/xquad/xquad.de.json" data/xtreme/mlqa/MLQA_V1/dev/dev-context-de-question-de.json
cp "$T/xtreme/xquad/xquad.de.json" data/xtreme/mlqa/MLQA_V1/test/test-context-de-question-de.json

# The study config, with a tiny model, the baseline order only, 2 steps per stage, and the
# samples' languages.
sed -e "s|^checkpoint = .*|tokenizer = \"$T/tokenizer/tiny.model\"|" \
    -e 's/^dtype = "fp32"$/dtype = "fp32"\n\n[model.tiny]\nlayers = 1\nhidden = 32\nheads = 4\nffn = 64\nmax_positions = 400\npretrain_steps = 4\npretrain_batch_size = 4/' \
    -e 's/^replicates = .*/replicates = 1/' -e 's/^\[sweep\]$/[sweep]\nthreads = 1/' \
    -e 's|^cache = .*|cache = "cache.h5"|' \
    -e 's/^mode = "k_permutations"$/mode = "explicit"\nexplicit = [[]]/' \
    -e '/^stages = \[/,/\]$/d' -e '/^lengths = \[/d' \
    -e 's/^select = "last"$/select = "last"\nmax_steps = 2/' \
    "$S/configs/xtreme-r-triples.toml" > study.toml
cat >> study.toml <<'TOML'

[tasks.mlm]
paths = { train = "mlm/{lang}.txt", dev = "mlm/{lang}.txt" }
languages = { train = ["en"], dev = ["en"] }
[tasks.xnli]
languages = { train = ["en"], dev = ["de"], test = ["de"] }
[tasks.xcopa]
languages = { train = ["en"], dev = ["et"], test = ["et"] }
[tasks.udpos]
languages = { train = ["en"], dev = ["de"], test = ["de"] }
[tasks.panx]
languages = { train = ["en"], dev = ["fr"], test = ["fr"] }
[tasks.xquad]
languages = { test = ["de"] }
[tasks.mlqa]
languages = { dev = ["de"], test = ["de"] }
[tasks.tydiqa]
languages = { train = ["en"], test = ["ru"] }
[tasks.mewslix]
languages = { train = ["en"], dev = ["de"], test = ["de"] }
[tasks.lareqa]
languages = { train = ["en"], test = ["de", "en"] }
[tasks.tatoeba]
languages = { test = ["de"] }
TOML
grep -q '^explicit = \[\[\]\]$' study.toml && grep -q '^max_steps = 2$' study.toml \
  && grep -q '^\[model.tiny\]$' study.toml && ! grep -q '^lengths' study.toml \
  || fail "could not reduce configs/xtreme-r-triples.toml"
grep -q '^before = \["socialiqa"\]' study.toml && grep -q '^gold = "data/gold/xquad"' study.toml \
  || fail "the study config no longer has XCOPA's pre-stage or XQuAD's gold folder"

expected="xnli dev
xcopa dev
udpos dev
panx dev
xquad test
mlqa dev
tydiqa test
mewslix dev
lareqa test
tatoeba test"
"$B/ordertune" prepare --check --config study.toml > check.txt 2> err.txt || { cat check.txt err.txt; fail "prepare --check found problems"; }
grep -q "^0 missing, 0 unreadable, 0 target(s)" check.txt || { tail -3 check.txt; fail "prepare --check summary"; }
while read -r target split; do
  grep -Eq "^  $target on $split: " check.txt || { grep "^  " check.txt; fail "--check: $target is not scored on $split"; }
done <<< "$expected"
"$B/ordertune" prepare --config study.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
"$B/ordertune" plan --config study.toml > plan.txt 2> /dev/null || fail "plan failed"
want_plan="scored: $(tr ' ' '@' <<< "$expected" | sed 's/@/ on /' | paste -sd, | sed 's/,/, /g')"
grep -qxF "$want_plan" plan.txt || { grep scored plan.txt; echo "expected: $want_plan"; fail "plan's scored line"; }
mpirun -np 2 "$B/ordertune" sweep --config "$work/study.toml" --results study.h5 > sweep.txt 2>&1 \
  || { tail sweep.txt; fail "the sweep failed"; }
"$B/ordertune" results study.h5 > table.csv
while read -r target split; do
  rows=$(awk -F, -v t="$target" -v s="$split" '$3 == t && $5 == s' table.csv | wc -l)
  other=$(awk -F, -v t="$target" -v s="$split" 'NR > 1 && $3 == t && $5 != s' table.csv | wc -l)
  [ "$rows" -gt 0 ] && [ "$other" -eq 0 ] || { grep ",$target," table.csv; fail "$target: $rows rows on $split, $other on another split"; }
done <<< "$expected"
/usr/bin/python3 - study.h5 <<'PY' || fail "XCOPA's leaf does not hang below its Social IQa pre-stage"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    path = [p.decode() if isinstance(p, bytes) else str(p) for p in f["plan/path"][:]]
    task = [p.decode() if isinstance(p, bytes) else str(p) for p in f["plan/task"][:]]
    kind, parent = f["plan/kind"][:], f["plan/parent"][:]
    leaf = [i for i in range(len(kind)) if kind[i] == 2 and task[i] == "xcopa"]
    assert len(leaf) == 1 and path[parent[leaf[0]]] == "socialiqa" and path[leaf[0]] == "", leaf
PY
echo "study_targets: ok ($(($(wc -l < table.csv) - 1)) rows; $(paste -sd' ' <<< "$(tr ' ' ':' <<< "$expected")"))"
