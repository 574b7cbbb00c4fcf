#!/usr/bin/env bash
# End to end: `ordertune prepare` on the demo config (small scale) in a scratch folder.
# Checks: the cache is produced; a re-run reuses it; a changed input re-tokenizes only its task;
# bad config and malformed data give one line and a non-zero exit and never damage the cache.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# The demo config at a twentieth of its size (fast), otherwise unchanged.
sed -e 's/^demo = true$/demo = true\ndemo_scale = 0.05/' "$S/configs/demo.toml" > demo.toml
grep -q '^demo_scale = 0.05' demo.toml || fail "could not scale the demo config"

# 1. First run: demo data, tokenizer, cache.
"$B/ordertune" prepare --config demo.toml > out.txt 2> log1.txt || { cat log1.txt; fail "prepare failed"; }
cache=$(cat out.txt)
[ -f "$cache" ] || fail "no cache at '$cache'"
grep -q "examples/s" log1.txt || fail "no per-task progress lines"
h5ls -r "$cache" > layout.txt
for g in /tasks/mnli/train/en /tasks/xnli/test /tasks/udpos/test /tasks/xquad/test /tokenizer/model; do
  grep -q "^$g" layout.txt || fail "cache lacks $g"
done
sum1=$(md5sum "$cache" | cut -d' ' -f1)
# From here on the data is treated as a user's own: no regeneration of the demo suite (which
# would restore edited files).
sed -e 's/^demo = true$/demo = false/' demo.toml > fixed.toml

# 2. Second run: nothing changed, nothing rewritten.
"$B/ordertune" prepare --config fixed.toml > /dev/null 2> log2.txt
grep -q "is up to date" log2.txt || { cat log2.txt; fail "second run did not report up to date"; }
[ "$(md5sum "$cache" | cut -d' ' -f1)" = "$sum1" ] || fail "an up-to-date cache was rewritten"

# 3. A changed input file re-tokenizes its task only.
mnli_train=$(find data -path '*mnli*' -name 'train*' | head -n 1)
[ -n "$mnli_train" ] || fail "no mnli training file under data/"
sed -i '$d' "$mnli_train"
"$B/ordertune" prepare --config fixed.toml > /dev/null 2> log3.txt
grep -q "mnli/train/en:" log3.txt || { cat log3.txt; fail "mnli was not re-tokenized"; }
grep -q "xquad: up to date, reused" log3.txt || { cat log3.txt; fail "xquad was not reused"; }
sum2=$(md5sum "$cache" | cut -d' ' -f1)

# 4. A bad config: one line, exit 2, the cache untouched.
printf '[data]\nmax_lenght = 5\n' > bad.toml
set +e; "$B/ordertune" prepare --config bad.toml > /dev/null 2> err.txt; rc=$?; set -e
[ $rc -eq 2 ] || fail "bad config exit status $rc, expected 2"
[ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "bad config printed more than one line"; }
grep -q "bad.toml:2: data.max_lenght: unknown key" err.txt || { cat err.txt; fail "wrong message"; }

# 5. Malformed data: one line naming file and line, non-zero exit, the cache untouched.
echo '{"premise": "a", "hypothesis": ' >> "$mnli_train"
set +e; "$B/ordertune" prepare --config fixed.toml > /dev/null 2> err.txt; rc=$?; set -e
[ $rc -ne 0 ] || fail "malformed data accepted"
grep -q "ordertune-prepare: .*mnli.*:[0-9]*: expected a JSON object, found malformed JSON" err.txt \
  || { cat err.txt; fail "malformed data message"; }
[ "$(md5sum "$cache" | cut -d' ' -f1)" = "$sum2" ] || fail "a failed prepare changed the cache"
ls "$(dirname "$cache")" | grep -q 'tmp-' && fail "a failed prepare left a temporary file"
echo "prepare_demo: ok"
