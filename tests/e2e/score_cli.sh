#!/usr/bin/env bash
# `ordertune score` on the XTREME mock submission files: one JSON line with the official keys,
# one error line and exit != 0 on bad input.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; M=${ORDERTUNE_SOURCE:?}/tests/fixtures/xtreme-mock
fail() { echo "FAIL: $*"; exit 1; }
out=$("$B/ordertune" score --task panx --lang de --predictions "$M/predictions/panx/test-de.tsv" \
      --labels "$M/labels/panx/test-de.tsv")
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "more than one line: $out"
for key in '"f1"' '"precision"' '"recall"'; do
  printf '%s' "$out" | grep -q "$key" || fail "no $key in $out"
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
head -n 3 "$M/predictions/xnli/test-de.tsv" > "$work/short.tsv"
set +e
"$B/ordertune" score --task xnli --lang de --predictions "$work/short.tsv" \
  --labels "$M/labels/xnli/test-de.tsv" > /dev/null 2> "$work/err"; rc=$?
set -e
[ $rc -ne 0 ] || fail "differing line counts accepted"
[ "$(wc -l < "$work/err")" -eq 1 ] || { cat "$work/err"; fail "not one error line"; }
grep -q "short.tsv" "$work/err" || { cat "$work/err"; fail "error does not name the file"; }
set +e
"$B/ordertune" score --task nope --lang de --predictions a --labels b > /dev/null 2> "$work/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown task exit $rc, expected 2"
echo "score_cli: ok (panx/de: $out)"
