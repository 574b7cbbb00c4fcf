#!/usr/bin/env bash
# `ordertune plan` on the X-STILTs triples study: one JSON line with the plan's numbers (prefix
# sharing: 3513 stage runs instead of 6753, 586 of each XCOPA's Social IQa pre-stage, one per
# order), a simulated makespan within 5% of the lower bound
# on 64 ranks; a bad config gives one line and exit 2.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"   # no data cache here: nominal costs, whatever the checkout holds

"$B/ordertune" plan --config "$S/configs/xtreme-r-triples.toml" --ranks 64 --simulate --json \
  > out.json 2> err.txt || { cat err.txt; fail "plan failed"; }
[ "$(wc -l < out.json)" -eq 1 ] || { cat out.json; fail "expected one JSON line"; }
grep -q "costs are nominal" err.txt || { cat err.txt; fail "nominal costs not reported"; }
/usr/bin/python3 - out.json <<'PY' || fail "plan numbers"
import json, sys
j = json.load(open(sys.argv[1]))
keys = ["nodes", "stage_runs", "naive_stage_runs", "target_runs", "total_work_s", "longest_path_s",
        "lower_bound_s", "makespan_s", "busy_fraction", "results_file_bytes", "memory_per_rank_bytes"]
assert list(j) == keys, list(j)
assert j["stage_runs"] == 3 * (585 + 586), j
assert j["naive_stage_runs"] == 3 * (1665 + 586), j
assert j["target_runs"] == 3 * 586 * 10, j
assert j["nodes"] == 1 + 3513 + 17580, j
assert j["lower_bound_s"] == max(j["total_work_s"] / 64, j["longest_path_s"]), j
assert j["lower_bound_s"] <= j["makespan_s"] <= 1.05 * j["lower_bound_s"], j
assert 0 < j["busy_fraction"] <= 1, j
print("plan_cli: makespan %.0f s = %.4f x lower bound %.0f s on 64 ranks"
      % (j["makespan_s"], j["makespan_s"] / j["lower_bound_s"], j["lower_bound_s"]))
PY

# Human-readable: one line per number.
"$B/ordertune" plan --config "$S/configs/xtreme-r-pairs.toml" > human.txt 2> /dev/null
grep -q "^stage_runs: 489$" human.txt || { cat human.txt; fail "pairs stage_runs"; }
grep -q "^costs: nominal" human.txt || { cat human.txt; fail "nominal costs not said"; }

# A bad config: one line, exit 2.
printf '[sweep]\ntokens_per_second = -5\n' > bad.toml
set +e; "$B/ordertune" plan --config bad.toml > /dev/null 2> err.txt; rc=$?; set -e
[ $rc -eq 2 ] || fail "bad config exit status $rc, expected 2"
[ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "bad config printed more than one line"; }
grep -q "bad.toml:2: sweep.tokens_per_second: expected a number > 0, got -5" err.txt \
  || { cat err.txt; fail "wrong message"; }
# --ranks that do not divide into groups: one line, exit 2.
printf '[sweep]\ngroup_size = 4\n' > groups.toml
set +e; "$B/ordertune" plan --config groups.toml --ranks 6 > /dev/null 2> err.txt; rc=$?; set -e
[ $rc -eq 2 ] || fail "--ranks 6 with group_size 4: exit status $rc, expected 2"
grep -q "expected a multiple of sweep.group_size (4), got 6" err.txt || { cat err.txt; fail "--ranks message"; }
echo "plan_cli: ok"
