#!/usr/bin/env bash
# End to end: an encoder checkpoint of more than 2 GiB (XLM-R large in fp32 is 2.24 GB) goes
# into the results file and back bit for bit. HDF5 1.10's MPI-IO driver fails any single
# transfer of 2 GiB or more ("can't convert from size to size_i"), so results.cpp cuts every
# transfer into pieces; this fails if it does not. `ordertune bench checkpoint` writes through
# the sweep's own ResultsFile code and checks the round trip (OT_CHECK, exit != 0 on a change).
# Also a bf16 checkpoint, against torch's rounding. Needs about 2.2 GB of disk in the temporary directory and 5 GB of memory.
set -euo pipefail
B=${ORDERTUNE_BUILD:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# One layer, hidden 1024, a 530,000-token vocabulary: 544M parameters, 2.18 GB > 2^31 bytes.
"$B/ordertune" bench checkpoint --dir "$work" --layers 1 --hidden 1024 --heads 16 --ffn 1024 \
  --vocab 530000 --repeats 1 > bench.json 2> bench.err || { tail -3 bench.err; fail "the >2 GiB checkpoint did not round-trip"; }
/usr/bin/python3 - bench.json <<'PY' || fail "the checkpoint was not larger than 2 GiB"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["bytes"] > 2**31, r["bytes"]
PY
# bf16 checkpoints (converted in pieces by results.cpp) read back as torch's own rounding of the
# encoder, which is what the sweep holds in memory: a parameter larger than one conversion piece
# (the 33.5M-value embedding matrix; pieces are 16.8M values) crosses piece boundaries.
"$B/ordertune" bench checkpoint --dir "$work" --layers 1 --hidden 128 --heads 4 --ffn 256 \
  --vocab 262144 --dtype bf16 --repeats 1 > bf16.json 2> bf16.err || { tail -3 bf16.err; fail "the bf16 checkpoint did not round-trip"; }
echo "checkpoint_2gib: ok ($(cat bench.json); bf16 $(cat bf16.json))"
