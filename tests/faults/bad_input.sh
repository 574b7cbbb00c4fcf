#!/usr/bin/env bash
# Fault: bad input of every kind a user gives by mistake — command line, config, raw data, a data
# cache prepared by another config or damaged, a results file of another config. Each case
# asserts: the expected exit status, exactly one line on stderr naming the file/field, what was
# expected and what was found, no stack trace (c10::Error, terminate called, frame #, HDF5-DIAG),
# and the existing results file and data cache byte for byte unchanged. Every case once hung,
# ran silently wrong or printed a trace (issue 16). A warning case (a setting a user may mean)
# asserts exit 0 and one warning line.
# Cost: one prepare and one sweep of the small demo (about a minute on 2 cores), then refusals
# that come before any training.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
. "$S/tests/e2e/lib/small_demo.sh"
small_demo_config "$S" demo.toml
"$OT" prepare --config demo.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }
# The existing results file every refusal must leave alone: a finished sweep's.
timeout 600 "$OT" sweep --config demo.toml --results ref.h5 --progress none > /dev/null 2> ref.txt \
  || { tail -5 ref.txt; fail "the reference sweep failed"; }
"$OT" results ref.h5 > ref.csv
sums() { md5sum ref.h5 cache/demo.h5; }
before=$(sums)
cases=0

# expect NAME RC PATTERN COMMAND...: COMMAND exits RC within 60 s with exactly one error line
# (stderr less the "[ordertune rN +T s]" log lines of a command that started working) matching
# PATTERN (grep -E), and no trace; the results file and the cache are unchanged.
expect() {
  local name=$1 want=$2 pattern=$3 rc=0
  shift 3
  timeout 60 "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" -ne 124 ] || fail "$name: still running after 60 s"
  [ "$rc" -eq "$want" ] || { cat err.txt; fail "$name: exit $rc, expected $want"; }
  grep -v '^\[ordertune' err.txt > line.txt || true
  [ "$(wc -l < line.txt)" -eq 1 ] || { cat err.txt; fail "$name: $(wc -l < line.txt) error lines, expected 1"; }
  grep -Eq -- "$pattern" line.txt || { cat err.txt; fail "$name: the line does not match '$pattern'"; }
  ! grep -Eq "c10::Error|terminate called|frame #|HDF5-DIAG" err.txt || fail "$name: a stack trace"
  [ "$(sums)" = "$before" ] || fail "$name: the results file or the cache changed"
  cases=$((cases + 1))
  echo "$name: $(cat line.txt)"
}
# warns NAME PATTERN COMMAND...: COMMAND exits 0 and logs exactly one warning, matching PATTERN.
warns() {
  local name=$1 pattern=$2 rc=0
  shift 2
  timeout 60 "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" -eq 0 ] || { cat err.txt; fail "$name: exit $rc, expected 0"; }
  [ "$(grep -c 'warning' err.txt)" -eq 1 ] || { cat err.txt; fail "$name: expected one warning"; }
  grep -Eq -- "$pattern" err.txt || { cat err.txt; fail "$name: the warning does not match '$pattern'"; }
  cases=$((cases + 1))
  echo "$name: $(grep warning err.txt)"
}
# with_setting KEY VALUE OUT [SOURCE]: SOURCE (demo.toml) with KEY (under its section) set to
# VALUE, written to OUT.
with_setting() {
  /usr/bin/python3 - "$1" "$2" "${4:-demo.toml}" "$3" <<'PY'
import re, sys
key, value, src, out = sys.argv[1:]
section, name = key.rsplit(".", 1)
text = open(src).read()
head = "[" + section + "]\n"
if head not in text:
    text += "\n" + head
start = text.index(head) + len(head)
end = text.find("\n[", start)
end = len(text) if end < 0 else end + 1
body = re.sub(r"(?m)^" + re.escape(name) + r" = .*\n", "", text[start:end])
open(out, "w").write(text[:start] + name + " = " + value + "\n" + body + text[end:])
PY
}

# ---- the command line
expect "unknown command" 2 "^ordertune: expected a command \(.*sweep.*\), found 'sweeep'" \
  "$OT" sweeep --config demo.toml
expect "--progress-every 0" 2 "expected a number of seconds > 0, got 0" \
  "$OT" sweep --config demo.toml --results ref.h5 --progress-every 0
[ "$(wc -c < err.txt)" -lt 200 ] || fail "--progress-every 0: a line of $(wc -c < err.txt) bytes"
expect "--threads 100000" 2 "threads" "$OT" sweep --config demo.toml --results ref.h5 --threads 100000
expect "--threads -1" 2 "threads" "$OT" sweep --config demo.toml --results ref.h5 --threads -1

# ---- the config
mkdir conf.d; : > empty.toml
expect "a directory as the config" 2 "conf.d: expected a config file \(TOML\), found a directory" \
  "$OT" sweep --config conf.d --results ref.h5
expect "an empty config" 2 "empty.toml: the config file is empty" "$OT" sweep --config empty.toml --results ref.h5
with_setting train.lr nan c.toml
expect "lr = nan" 2 "c.toml:[0-9]+: train.lr: expected a finite number > 0" "$OT" sweep --config c.toml --results ref.h5
with_setting train.lr 1e307 c.toml
expect "lr = 1e307" 2 "c.toml:[0-9]+: train.lr: expected a number > 0 and <= 1, got 1e\+307" \
  "$OT" sweep --config c.toml --results ref.h5
with_setting sweep.tokens_per_second nan c.toml
expect "tokens_per_second = nan" 2 "sweep.tokens_per_second: expected a finite number" \
  "$OT" plan --config c.toml --simulate
with_setting sweep.name '"demo\u0001"' c.toml
expect "a control character in the name" 2 "sweep.name" "$OT" sweep --config c.toml --results ref.h5
with_setting sweep.name "\"$(head -c 100000 /dev/zero | tr '\0' x)\"" c.toml
expect "a 100,000-character name" 2 "sweep.name" "$OT" sweep --config c.toml --results ref.h5
[ "$(wc -c < err.txt)" -lt 1000 ] || fail "a long name: a line of $(wc -c < err.txt) bytes"
with_setting data.languages '["sa", "zz"]' c.toml
expect "an unknown language" 2 "data.languages: expected languages of the targets \(.*\), got 'zz'" \
  "$OT" sweep --config c.toml --results ref.h5
with_setting model.tiny.max_positions 100 c.toml
expect "max_positions below max_length + 2" 2 "model.tiny.max_positions: expected at least 194" \
  "$OT" sweep --config c.toml --results ref.h5
# Warnings: settings a user may mean. `ordertune config` succeeds and says so once.
with_setting targets.tasks '[]' c.toml
warns "no targets" "c.toml:[0-9]+: targets.tasks: no targets: the sweep trains its orders but scores nothing" \
  "$OT" config --config c.toml
with_setting orders.mode '"explicit"' c1.toml
with_setting orders.explicit '[["mnli"], ["squad_v1", "mnli", "squad_v1"]]' c.toml c1.toml
warns "an order naming a stage twice" "c.toml:[0-9]+: orders.explicit: order 2 names stage 'squad_v1' twice" \
  "$OT" config --config c.toml

# ---- raw data (prepare; the cache stays as it was)
cp -r data/demo data/bad
# (the demo's XNLI trains on MNLI and is scored on test: its test files are what prepare reads;
# the unit tests cover a train line without its label)
sed -i '2s/$/\tan extra column/' data/bad/xtreme/xnli/test-sa.tsv
with_setting data.root '"data/bad"' c1.toml
with_setting data.demo false c.toml c1.toml  # (a demo suite that differs would be regenerated)
expect "an XNLI line with an extra column" 1 "xnli/test-sa.tsv:2: expected 2 or 3 tab-separated columns, found 4" \
  "$OT" prepare --config c.toml
rm -rf data/bad

# ---- the data cache
# Prepared by another config: the sweep compares every setting that changes the tokens.
with_setting data.max_length 64 c.toml
expect "a cache prepared with another max_length" 1 \
  "cache/demo.h5: prepared with data.max_length = 128, but c.toml has 64" \
  "$OT" sweep --config c.toml --results new.h5
# Damaged values: flipped label and token id bytes are named when the split loads, before they
# train or score (`ordertune run`: the root's few steps, then mnli's training split loads).
damage() {  # damage DATASET VALUE: a copy of the cache with DATASET[0] = VALUE
  cp cache/demo.h5 cache/bad.h5
  /usr/bin/python3 - cache/bad.h5 "$1" "$2" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f[sys.argv[2]][0] = int(sys.argv[3])
PY
}
with_setting data.cache '"cache/bad.h5"' c.toml
damage tasks/mnli/train/en/labels 7
expect "a flipped label in the cache" 1 "tasks/mnli/train/en/labels: expected -1\.\.2 \(the task has 3 labels\), found 7" \
  "$OT" run --config c.toml --order mnli
damage tasks/mnli/train/en/input_ids 123456
expect "a flipped token id in the cache" 1 "tasks/mnli/train/en/input_ids: expected a token id in 0\.\.[0-9]+, found 123456" \
  "$OT" run --config c.toml --order mnli
rm -f cache/bad.h5

# ---- a results file of another config: every differing setting, where files go last (the first
# one alone was once output.results, although targets.tasks made the difference)
with_setting targets.tasks '["xnli"]' c1.toml
with_setting output.results '"elsewhere.h5"' c.toml c1.toml
expect "a results file of another config" 2 \
  "ref.h5: made by a different config \(settings targets.tasks, output.results differ from c.toml\)" \
  "$OT" sweep --config c.toml --results ref.h5

"$OT" results ref.h5 | cmp -s - ref.csv || fail "the results table changed"
echo "bad_input: $cases cases ok"
