#!/usr/bin/env bash
# End to end: `ordertune-prepare --synthetic F` writes every file the shipped study config
# (configs/xtreme-r-triples.toml) reads, in each real format, at F times the real sizes; the real
# readers then find them all: `prepare --check` lists no missing or unreadable file and scores
# each target on the split a real download gives (dev where xtreme hides the test labels, test
# from the gold folders and LAReQA). prepare tokenizes them, storing Mewsli-X's candidate set
# once (the other languages' candidate datasets are HDF5 hard links to it) and LAReQA's pool
# once; `sweep --check` on 4 ranks builds the 21,094-node plan and the results layout and creates
# no results file. The generator refuses a folder holding other files, and a bad scale.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
P="$B/ordertune-prepare"

sed -e "s|^checkpoint = .*|tokenizer = \"$S/tests/data/hf/tokenizer/multilingual.model\"|" \
    -e 's/^dtype = "fp32"$/dtype = "fp32"\n\n[model.tiny]\nlayers = 1\nhidden = 32\nheads = 4\nffn = 64\nmax_positions = 600/' \
    -e 's|^cache = .*|cache = "cache.h5"|' "$S/configs/xtreme-r-triples.toml" > study.toml
printf '\n[tasks.mlm]\nlanguages = { train = ["en"], dev = ["en"] }\n' >> study.toml
grep -q '^\[model.tiny\]$' study.toml || fail "could not adapt configs/xtreme-r-triples.toml"

# A bad scale, and a data folder with files the generator did not write: one line, exit != 0.
if "$P" --config study.toml --synthetic 2 > out.txt 2>&1; then fail "--synthetic 2 was accepted"; fi
grep -q 'expected "real" or a fraction of the real sizes in (0, 1\], found .2.' out.txt \
  || fail "--synthetic 2: $(cat out.txt)"
mkdir -p data && echo "real" > data/keep.txt
if "$P" --config study.toml --synthetic 0.002 > out.txt 2>&1; then fail "a foreign data folder was written into"; fi
grep -q "data.root: expected a new or empty folder for --synthetic" out.txt || fail "$(cat out.txt)"
[ "$(cat data/keep.txt)" = real ] && [ "$(find data -type f | wc -l)" = 1 ] || fail "the data folder was changed"
rm -rf data

"$P" --config study.toml --synthetic 0.002 > out.txt || fail "$(cat out.txt)"
grep -q '^synthetic data written: [0-9]* files' out.txt || fail "$(cat out.txt)"
# Real layouts: jiant's ANLI rounds, xtreme's hidden test labels, the gold folders.
for f in data/jiant/adversarial_nli_r3/train.jsonl data/xtreme/panx/test-qu.tsv \
         data/xtreme/mewslix/candidate_set_entities.jsonl data/gold/tatoeba/tatoeba.cmn-eng.eng \
         data/gold/tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-swahili.json data/xtreme/lareqa/xquad-r/th.json; do
  [ -s "$f" ] || fail "$f was not written"
done
[ "$(wc -l < data/xtreme/mewslix/candidate_set_entities.jsonl)" = 2000 ] || fail "Mewsli-X candidates: 0.002 x 1,000,000 expected"
[ "$(wc -l < data/gold/tatoeba/tatoeba.cmn-eng.eng)" = 4 ] || fail "Tatoeba: the 4-example floor expected"

"$P" --config study.toml --check > check.txt || { cat check.txt; fail "prepare --check found problems"; }
grep -q '^0 missing, 0 unreadable, 0 target(s) plan and sweep would refuse$' check.txt || fail "$(tail -3 check.txt)"
grep -Eq '^anli +train +en +present' check.txt || fail "ANLI's round files were not found"
for want in "xnli on dev" "xcopa on dev" "udpos on dev" "udpos not scored: kk th tl yo" "panx on dev" \
            "mlqa on dev" "mewslix on dev" "xquad on test" "tydiqa on test" "lareqa on test" "tatoeba on test"; do
  grep -q "^  $want" check.txt || fail "prepare --check does not say '$want'"
done
[ "$(grep -c '^panx  *test ' check.txt)" = 48 ] && [ "$(grep -c '^tatoeba  *test ' check.txt)" = 41 ] \
  || fail "PAN-X's 48 or Tatoeba's 41 test languages are not all there"

"$P" --config study.toml > prep.txt 2>&1 || { tail prep.txt; fail "prepare failed"; }
grep -q 'cache written: cache.h5 (22 tasks tokenized, 0 reused, [0-9]* examples, [0-9]* tokens' prep.txt || fail "$(tail -2 prep.txt)"
# Mewsli-X: dev/ar holds the candidate set, the 21 other (split, language) groups link to it.
[ "$(grep -c 'mewslix/.*candidates linked to dev/ar' prep.txt)" = 21 ] || fail "Mewsli-X's candidates were tokenized more than once"
[ "$(grep -c 'lareqa/test/.*candidates linked to test/ar' prep.txt)" = 10 ] || fail "LAReQA's pool was tokenized more than once"
h5dump -H -g /tasks/mewslix cache.h5 > mewslix.txt
[ "$(grep -c 'HARDLINK "/tasks/mewslix/dev/ar/candidate' mewslix.txt)" = 84 ] \
  || fail "the 21 other groups' 4 candidate datasets are not hard links to dev/ar's"

mpirun -np 4 "$B/ordertune" sweep --config study.toml --check --threads 1 > start.txt 2>&1 || { tail start.txt; fail "sweep --check failed"; }
grep -q 'start-up check passed on 4 rank(s) in .* plan of 21094 nodes' start.txt || fail "$(tail -3 start.txt)"
[ ! -e results ] && [ -z "$(find . -name '*.h5' ! -name cache.h5)" ] || fail "sweep --check created a results file"
echo "PASS"
