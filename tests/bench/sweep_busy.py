#!/usr/bin/python3
"""Busy fraction of a finished sweep, from its results file (printed, never asserted).

busy fraction = sum over nodes of (end - start) / (workers x (last end - first start)).
Usage: tests/bench/sweep_busy.py RESULTS.h5
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
workers = len(np.unique(rank))
span = end.max() - start.min()
busy = (end - start).sum()
print(f"{sys.argv[1]}: {done.sum()} nodes on {workers} worker(s) in {span:.1f} s; "
      f"busy fraction {busy / (workers * span):.3f}; "
      f"per worker busy s: " + ", ".join(f"{(end - start)[rank == r].sum():.1f}" for r in np.unique(rank)))
print(f"stage runs {int((kind == 1).sum())}, target runs {int((kind == 2).sum())}")
