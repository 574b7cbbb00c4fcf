#!/usr/bin/env bash
# prepare_bench.sh — wall time, examples/s and peak RSS of `ordertune-prepare --force` on the demo
# suite generated at data.demo_scale = SCALE (default 100: 3.75M examples, ~430 MB of files), for
# this build and, side by side, a BASELINE binary (another build's ordertune-prepare), alternated
# ROUNDS times (default 2); prints each run and the ratios (this build / baseline). The demo data
# and the tiny tokenizer are made once, before the timed runs (training the tokenizer on the
# scaled corpus is not what is measured). No timing is asserted.
# Resources: one core; at SCALE 100 about 1 minute and under 2 GB per run, 2 GB of disk.
#
# Usage: [BASELINE=/path/to/ordertune-prepare] [SCALE=100] [ROUNDS=2] tests/bench/prepare_bench.sh [BUILD_DIR]
#
# Measured 2026-12-02 on the 2-core CI-class machine, SCALE=100, baseline = the prepare before
# streaming (every task's text held until the cache was written): peak RSS 1.51 GB -> 0.65 GB
# (0.43 x), wall time 47-49 s -> 56 s (1.15 x: a changed task is read twice, once to hash it and
# once to tokenize it); the two caches are identical (h5diff).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
build_dir="$(cd "${1:-${ORDERTUNE_BUILD:-$source_dir/build}}" && pwd)"
scale=${SCALE:-100}; rounds=${ROUNDS:-2}
command -v /usr/bin/time > /dev/null || { echo "prepare_bench: needs GNU time (Debian: time)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
sed -e "s/^demo = true\$/demo = true\ndemo_scale = $scale/" "$source_dir/configs/demo.toml" > bench.toml
grep -q "^demo_scale = $scale\$" bench.toml || { echo "prepare_bench: could not set demo_scale" >&2; exit 1; }
echo "prepare_bench: generating the demo at scale $scale (not timed)"
"$build_dir/ordertune-prepare" --config bench.toml > /dev/null 2> gen.txt || { tail gen.txt; exit 1; }
echo "data: $(du -sh data | cut -f1)"
run() {  # run LABEL BINARY: one timed --force run; prints "LABEL seconds rss_kb examples"
  /usr/bin/time -v "$2" --config bench.toml --force > /dev/null 2> "t.txt" || { tail t.txt; exit 1; }
  local s rss ex
  s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); v = 0; for (i = 1; i <= n; ++i) v = v * 60 + p[i]; print v}' t.txt)
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' t.txt)
  ex=$(sed -n 's/.*cache written: .*, \([0-9]*\) examples,.*/\1/p' t.txt)
  printf '%-9s %8.1f s %10.0f examples/s %8.0f MB peak RSS\n' "$1" "$s" "$(echo "$ex / $s" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  echo "$1 $s $rss" >> runs.txt
}
for ((r = 1; r <= rounds; ++r)); do
  run "this" "$build_dir/ordertune-prepare"
  [ -n "${BASELINE:-}" ] && run "baseline" "$BASELINE"
done
if [ -n "${BASELINE:-}" ]; then
  awk '{t[$1] += $2; m[$1] = ($3 > m[$1] ? $3 : m[$1]); n[$1]++}
       END {printf "ratios (this / baseline): wall time %.2f, peak RSS %.2f\n",
            (t["this"] / n["this"]) / (t["baseline"] / n["baseline"]), m["this"] / m["baseline"]}' runs.txt
fi
