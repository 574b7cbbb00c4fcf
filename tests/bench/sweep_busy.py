#!/usr/bin/python3
"""Busy fraction of a finished sweep, from its results file (printed, never asserted).

busy fraction = busy seconds of all workers / (workers x (last end - first start)), where a
node's busy seconds are end - start on the worker that ran it, and the root's (kind 0) count for
every worker: it runs on all ranks at once (scheduler.h, rule 0; its record names rank 0).
Usage: tests/bench/sweep_busy.py RESULTS.h5 [WORKERS]   (WORKERS: default, the ranks seen)
"""
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    done = f["nodes/status"][:] == 1
    start = f["nodes/start_time"][:][done]
    end = f["nodes/end_time"][:][done]
    rank = f["nodes/rank"][:][done]
    kind = f["plan/kind"][:][done]
ranks = np.unique(rank[kind != 0])
workers = int(sys.argv[2]) if len(sys.argv) > 2 else len(ranks)
span = end.max() - start.min()
root = (end - start)[kind == 0].sum()
per_worker = [(end - start)[(rank == r) & (kind != 0)].sum() + root for r in ranks]
busy = sum(per_worker) + root * (workers - len(ranks))
print(f"{sys.argv[1]}: {done.sum()} nodes on {workers} worker(s) in {span:.1f} s; "
      f"busy fraction {busy / (workers * span):.3f}; root on every worker {root:.1f} s; "
      f"per worker busy s: " + ", ".join(f"{b:.1f}" for b in per_worker))
print(f"stage runs {int((kind == 1).sum())}, target runs {int((kind == 2).sum())}")
