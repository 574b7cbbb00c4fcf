#!/usr/bin/env bash
# tokenize_bench.sh — speed of ordertune's XLM-R tokenizer against sentencepiece's spm_encode CLI.
#
# Runs the hidden Catch2 case "tokenizer speed vs spm_encode" of unit_tests
# (tests/unit/tokenizer.test.cpp): it generates 100,000 deterministic multilingual-looking lines
# (~6 MB), trains a 2,500-piece unigram model on them with XlmrTokenizer::train, then times
#   1. `spm_encode --output_format=id` on the file (one process, ids written to a file),
#   2. sentencepiece's library EncodeAsIds, a line at a time,
#   3. XlmrTokenizer ids only, and ids + byte offsets (the QA path),
# checks that every line's ids equal the CLI's after the fairseq mapping, and prints the times
# and the ratios (ours / spm_encode). No timing is asserted.
# Resources: one core, < 200 MB memory, about 20 s on a laptop-class core (most of it training
# the model).
#
# Usage: tests/bench/tokenize_bench.sh [BUILD_DIR]   (default: $ORDERTUNE_BUILD or ./build)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
build_dir="${1:-${ORDERTUNE_BUILD:-$source_dir/build}}"

command -v spm_encode >/dev/null || { echo "tokenize_bench: spm_encode not on PATH (Debian: sentencepiece)" >&2; exit 1; }
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build_dir" --target unit_tests -j2 >/dev/null
exec "$build_dir/tests/unit_tests" "[tokenizer_bench]"
