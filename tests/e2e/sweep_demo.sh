#!/usr/bin/env bash
# End to end: `ordertune sweep` on a small demo under mpirun.
# Checks: 1, 2 and 3 ranks give identical result tables (parents moving between workers over
# MPI or through the file); kill -9 of every rank at two moments,
# then re-running, gives the uninterrupted table; SIGUSR1 stops every rank with exit 0 and the
# re-run completes identically; a file of another config and a second concurrent writer are
# refused with one line (exit 2) and the file is unchanged; the file reads with h5py mid-sweep;
# status, export --predictions (scored again by `ordertune score`: equal to the sweep's metrics)
# and export --model work.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}; S=${ORDERTUNE_SOURCE:?}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'pkill -9 -f "ordertune sweep --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
OT="$B/ordertune"; export OT
# A small demo: a twentieth of the data, short pretraining, one replicate, one thread per rank.
. "$S/tests/e2e/lib/small_demo.sh"
. "$S/tests/e2e/lib/wait.sh"
small_demo_config "$S" demo.toml
cfg="$work/demo.toml"
"$OT" prepare --config "$cfg" > /dev/null 2> prep.txt || { cat prep.txt; fail "prepare failed"; }

sweep() {  # ranks results-file [extra]
  mpirun -np "$1" "$OT" sweep --config "${sweep_cfg:-$cfg}" --results "$2" "${@:3}"
}
sweep 1 r1.h5 --progress lines --progress-every 1 > log1.txt 2>&1 || { tail -20 log1.txt; fail "1-rank sweep failed"; }
grep -Eq "progress: [0-9]+/[0-9]+ nodes, [0-9]+% of the work, [0-9]+ running, elapsed .*, ETA .*, [0-9]+ tokens/s" log1.txt \
  || fail "no periodic progress line in the 1-rank sweep's log"
"$OT" results r1.h5 > t1.csv
[ "$(wc -l < t1.csv)" -gt 100 ] || fail "result table too short: $(wc -l < t1.csv) lines"
head -1 t1.csv | grep -qx 'seed,order,target,language,split,metric,value' || fail "bad csv header"
grep -q '^0,mnli>squad_v1,xquad,sb,test,f1,' t1.csv || fail "no row for order mnli>squad_v1"
grep -q '^0,,tatoeba,sc,test,accuracy,' t1.csv || fail "no baseline row"
grep -q "finished" <<< "$("$OT" status r1.h5)" || fail "status does not report finished"
# The demo's targets have labelled test splits: each is scored on test, and status says so.
grep -qx "  scored: tatoeba on test, udpos on test, xnli on test, xquad on test" <<< "$("$OT" status r1.h5)" \
  || { "$OT" status r1.h5; fail "status does not say which split each target is scored on"; }

for n in 2 3; do
  sweep "$n" "r$n.h5" --progress bar > "log$n.txt" 2>&1 || { tail -20 "log$n.txt"; fail "$n-rank sweep failed"; }
  grep -q $'\r\033\[K\[[#.]*\] [0-9]*/[0-9]* nodes' "log$n.txt" || fail "no live progress bar with --progress bar"
  "$OT" results "r$n.h5" > "t$n.csv"
  cmp -s t1.csv "t$n.csv" || { diff t1.csv "t$n.csv" | head; fail "$n ranks differ from 1 rank"; }
done

# Parents that another worker held came over MPI (the scheduler's kPeer; the numbers above are
# identical either way). Which parents move between workers depends on timing, so the check is
# over both runs.
grep -Eq "parent encoders not held by their worker: [1-9][0-9]* from a peer over MPI" log2.txt log3.txt \
  || { grep -h "parent encoders" log2.txt log3.txt; fail "no parent encoder came from a peer over MPI"; }

# A group of 2 ranks training each node data-parallel (sweep.group_size = 2) completes the same
# plan (its numbers equal one rank's to rounding, not bitwise: the mpi tests check 1e-5).
sed -e 's/^threads = 1$/threads = 1\ngroup_size = 2/' demo.toml > group.toml
# Strict communicator: host data (replies, flags, sums) must not travel as tensors, as on NCCL.
mpirun -x ORDERTUNE_STRICT_COMMUNICATOR=1 -np 2 "$OT" sweep --config "$work/group.toml" --results g.h5 > logg.txt 2>&1 \
  || { tail -20 logg.txt; fail "group_size 2 sweep failed"; }
grep -q "1 worker(s) of 2 rank(s)" logg.txt || fail "the group sweep did not form one group of 2"
[ "$("$OT" results g.h5 | wc -l)" = "$(wc -l < t1.csv)" ] || fail "the group sweep's table has another size"

# kill -9 of every rank at two moments, reading the file with h5py while it runs; then resume.
# Resume snapshots after every step (output.resume_every = 1): interrupted nodes continue from them, and
# the numbers must still equal the uninterrupted 1-rank table.
sed -e 's/^results = .*/&\nresume_every = 1/' demo.toml > resume.toml
grep -q '^resume_every = 1' resume.toml || fail "could not set output.resume_every"
sweep_cfg="$work/resume.toml"
for round in 1 2; do  # killed once the run has finished one more node (two more the second time)
  before=$(done_nodes crash.h5)
  sweep 2 crash.h5 > "crash-$round.txt" 2>&1 &
  wait_for_done_nodes crash.h5 $(( before + round )) $!
  $PY - crash.h5 <<'PY' || fail "h5py could not read the file mid-sweep"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    s = f["nodes/status"][:]
    assert len(s) == len(f["plan/kind"][:])
PY
  pkill -9 -f "ordertune sweep --config $sweep_cfg --results crash.h5" || true
  wait || true
  "$OT" status crash.h5 >> crash-status.txt
done
# The first kill must have hit a running sweep (else this tests nothing), and status lists the
# nodes that were running when the ranks died.
head -1 crash-status.txt | grep -vq finished || fail "the sweep finished before the first kill: $(head -1 crash-status.txt)"
grep -q "started, not done: " crash-status.txt || { cat crash-status.txt; fail "status lists no interrupted node"; }
sweep 2 crash.h5 > resume.txt 2>&1 || { tail -20 resume.txt; fail "resume failed"; }
grep -q "resumed" resume.txt || fail "the re-run did not resume"
grep -q "resuming at step" crash-2.txt resume.txt || fail "no interrupted node continued from its resume snapshot"
[ ! -e crash.h5.resume ] || fail "resume snapshots left behind after the sweep finished: $(ls crash.h5.resume)"
"$OT" results crash.h5 > tc.csv
cmp -s t1.csv tc.csv || { diff t1.csv tc.csv | head; fail "results after kill -9 and resume differ"; }

# SIGUSR1: every rank stops at a step boundary and exits 0 within 60 s; the re-run completes.
sweep 2 sig.h5 > sig.txt 2>&1 &
pid=$!
# The root and one more node are done: the workers have been given nodes, so some are training
# when the signal comes (right after the root alone they may still be asking for their first, and
# the stop then leaves no snapshot: seen once on a loaded machine).
wait_for_done_nodes sig.h5 2 "$pid"
pkill -USR1 -f "ordertune sweep --config $sweep_cfg --results sig.h5" || true
start=$(date +%s)
wait "$pid" || fail "sweep exited non-zero after SIGUSR1: $(tail -5 sig.txt)"
[ $(( $(date +%s) - start )) -le 60 ] || fail "stopping took over 60 s"
grep -q "stopped by signal" sig.txt || { tail -5 sig.txt; fail "no stop message"; }
! "$OT" status sig.h5 | grep -q "; finished" || fail "the signal did not stop the sweep: it finished"
# A rank stopped mid-training leaves a snapshot, which the re-run continues from; one that was
# evaluating or between nodes has none to leave (the moment is the machine's: both happen).
snapshots=$(ls sig.h5.resume/node-*.pt 2> /dev/null | wc -l)
sweep 2 sig.h5 > sig2.txt 2>&1 || fail "re-run after the signal failed"
[ "$snapshots" -eq 0 ] || grep -q "resuming at step" sig2.txt \
  || fail "the re-run after the signal did not continue from its $snapshots snapshot(s)"
"$OT" results sig.h5 > ts.csv
cmp -s t1.csv ts.csv || fail "results after SIGUSR1 and re-run differ"

# Refusals: another config's file; a second concurrent writer. The file stays unchanged.
sum=$(md5sum r1.h5 | cut -d' ' -f1)
sed -e 's/^lr = .*/lr = 0.002/' demo.toml > other.toml
set +e
"$OT" sweep --config other.toml --results r1.h5 > /dev/null 2> other.txt; rc=$?
set -e
[ $rc -eq 2 ] && [ "$(wc -l < other.txt)" -eq 1 ] && grep -q "train.lr" other.txt \
  || { cat other.txt; fail "foreign config not refused with one line naming train.lr (rc $rc)"; }
[ "$(md5sum r1.h5 | cut -d' ' -f1)" = "$sum" ] || fail "a refused run changed the file"
exec 9> r1.h5.lock; flock -n 9 || fail "could not take the lock"
set +e
"$OT" sweep --config "$cfg" --results r1.h5 > /dev/null 2> lock.txt; rc=$?
set -e
exec 9>&-
[ $rc -eq 2 ] && grep -q "another sweep is writing" lock.txt || { cat lock.txt; fail "concurrent writer not refused"; }

# Export: predictions in the submission layout, scored again equal the sweep's own numbers.
"$OT" export --results r1.h5 --replicate 0 --order "mnli>squad_v1" --predictions preds 2> /dev/null
for f in preds/xnli/test-sa.tsv preds/udpos/test-sb.tsv preds/xquad/test-sc.json preds/tatoeba/test-sa.tsv; do
  [ -s "$f" ] || fail "export wrote no $f"
done
"$OT" export --results r1.h5 --replicate 0 --order "mnli>squad_v1" --model model 2> /dev/null
[ -s model/config.json ] && [ -s model/model.safetensors ] || fail "export --model wrote no HF directory"
for f in sentencepiece.bpe.model tokenizer.json tokenizer_config.json; do
  [ -s "model/$f" ] || fail "export --model wrote no tokenizer file $f"
done
cmp -s model/sentencepiece.bpe.model cache/demo.spm.model || fail "exported sentencepiece.bpe.model is not the cache's"
$PY - t1.csv <<'PY' || fail "exported predictions do not score like the sweep"
import csv, json, subprocess, sys, os
rows = {(r["order"], r["target"], r["language"], r["metric"]): float(r["value"])
        for r in csv.DictReader(open(sys.argv[1])) if r["seed"] == "0"}
# Labels in the submission layout, rebuilt from the demo data the sweep read.
def label_lines(path, col):
    return [line.rstrip("\n").split("\t")[col] for line in open(path, encoding="utf-8")]
checked = 0
for lang in ("sa", "sb", "sc"):
    gold = label_lines(f"data/demo/xtreme/xnli/test-{lang}.tsv", 2)
    with open("gold.tsv", "w") as g:
        g.write("\n".join(gold) + "\n")
    out = subprocess.run([os.environ["OT"], "score", "--task", "xnli", "--lang", "de",
                          "--predictions", f"preds/xnli/test-{lang}.tsv", "--labels", "gold.tsv"],
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out)["accuracy"]
    want = rows[("mnli>squad_v1", "xnli", lang, "accuracy")]
    assert abs(got - want) < 1e-9, (lang, got, want)
    checked += 1
assert checked == 3
PY
echo "sweep_demo: ok"
