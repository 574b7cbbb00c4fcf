#!/usr/bin/env bash
# Fault: a second sweep on a results file that a sweep is writing, reached through another path:
# a symlinked folder, and a symlink to the file. The lock is taken on the file's real path, so
# both are refused with one line (exit 2) naming the held lock, and the file is unchanged. (The
# lock was once per path string: through a symlink a second writer wrote the same file.)
# Cost: a few seconds (prepare of a small demo; the refusals come before any training).
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"
. "$S/tests/e2e/lib/small_demo.sh"
small_demo_config "$S" demo.toml
"$OT" prepare --config demo.toml > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }

mkdir real
ln -s real alias
echo "a results file being written" > real/r.h5  # the refusal comes before the file is read
ln -s real/r.h5 link.h5
sum=$(md5sum real/r.h5)
exec 9> real/r.h5.lock
flock -n 9 || fail "could not take the lock"  # as the first sweep holds it
for other in alias/r.h5 link.h5 "real/../real/r.h5"; do
  rc=0
  "$OT" sweep --config demo.toml --results "$other" > out.txt 2> err.txt || rc=$?
  [ "$rc" -eq 2 ] || { cat err.txt; fail "a second writer through $other: exit $rc, expected 2"; }
  [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "a second writer through $other: not one line"; }
  grep -q "another sweep is writing this results file (its lock $work/real/r.h5.lock is held)" err.txt \
    || { cat err.txt; fail "a second writer through $other: the line does not name the held lock"; }
  [ "$(md5sum real/r.h5)" = "$sum" ] || fail "the refused run through $other changed the file"
done
exec 9>&-
echo "second_writer: ok"
