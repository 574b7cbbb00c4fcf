"""An ordertune results file -> tidy pandas tables.

The layout is the one src/results.cpp creates (README, "Results file"); this module is the only
Python code that knows it. The file is opened read-only and without HDF5 file locking, so it can
be read while a sweep writes it: the MPI-IO driver that writes it takes no lock either
(results.h), and a node's data is complete before its done mark (/nodes/status = 1) is written
(results.cpp, ResultsFile::write_node). Every table here therefore keeps done nodes only, which
makes the analysis valid on a running or interrupted sweep.

Naming: `seed` is the replicate index (as in `ordertune results`), `order` is the '>'-joined
path of intermediate stages ("" = the baseline without intermediate training), `target` is an
XTREME-R target task.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib

import h5py
import numpy as np
import pandas as pd

# kResultsFormatVersion in include/ordertune/results.h.
FORMAT_VERSION = "1"
# /plan/kind values (plan.h, NodeKind).
KIND_ROOT, KIND_STAGE, KIND_TARGET = 0, 1, 2
KIND_NAMES = {KIND_ROOT: "root", KIND_STAGE: "stage", KIND_TARGET: "target"}
ORDER_SEPARATOR = ">"

# Datasets the analysis reads, with the length each must have: N = plan nodes, M = metric rows.
_PER_NODE = ["plan/kind", "plan/parent", "plan/replicate", "plan/path", "plan/task", "plan/name",
             "nodes/status", "nodes/rank", "nodes/start_time", "nodes/end_time",
             "nodes/train_seconds", "nodes/eval_seconds", "nodes/wait_seconds", "nodes/steps",
             "metrics/target_score"]
_PER_METRIC_ROW = ["metrics/node", "metrics/language", "metrics/name", "metrics/split",
                   "metrics/value"]
_CURVES = ["curves/offset", "curves/loss"]


class ResultsFileError(Exception):
    """A results file that cannot be analysed; the message is one line naming the file."""


def order_stages(order: str) -> tuple[str, ...]:
    """'a>b' -> ('a', 'b'); '' (the baseline) -> ()."""
    return tuple(order.split(ORDER_SEPARATOR)) if order else ()


def order_text(stages) -> str:
    """('a', 'b') -> 'a>b'; () -> ''."""
    return ORDER_SEPARATOR.join(stages)


@dataclasses.dataclass
class Results:
    """Everything the analysis uses from one results file, read into memory."""

    path: str
    attrs: dict            # root attributes: sweep_name, config_hash, format_version, ...
    config_text: str       # the sweep's TOML config
    nodes: pd.DataFrame    # one row per plan node, index = node id (see _read_nodes)
    metrics: pd.DataFrame  # every /metrics row: node, language, metric, split, value
    curve_offset: np.ndarray  # [N+1]: node n's steps are loss[offset[n]:offset[n+1]]
    loss: np.ndarray

    @property
    def sweep_name(self) -> str:
        return self.attrs.get("sweep_name", "")

    @property
    def done(self) -> pd.Series:
        return self.nodes["done"]

    @property
    def finished(self) -> bool:
        return bool(self.nodes["done"].all())

    @property
    def mixtures(self) -> tuple[str, ...]:
        """Mixture stages ([mixtures.NAME] in the config; configs/reference.toml)."""
        try:
            return tuple(tomllib.loads(self.config_text).get("mixtures", {}))
        except tomllib.TOMLDecodeError:
            return ()

    @property
    def replicates(self) -> list[int]:
        r = self.nodes.loc[self.nodes["kind"] != KIND_ROOT, "replicate"]
        return sorted(int(x) for x in r.unique())

    @property
    def orders(self) -> list[str]:
        """Every planned order, in plan order (the config's)."""
        return list(dict.fromkeys(self.nodes.loc[self.nodes["kind"] == KIND_TARGET, "order"]))

    @property
    def stages(self) -> list[str]:
        """Every intermediate stage (task or mixture), in order of first appearance in the plan."""
        return list(dict.fromkeys(self.nodes.loc[self.nodes["kind"] == KIND_STAGE, "task"]))

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(self.nodes.loc[self.nodes["kind"] == KIND_TARGET, "task"]))

    def loss_curve(self, node: int) -> np.ndarray:
        """Training loss per optimizer step of a node (unwritten steps, NaN, dropped)."""
        c = self.loss[self.curve_offset[node]:self.curve_offset[node + 1]]
        return c[np.isfinite(c)]


def _decode(a: np.ndarray) -> np.ndarray:
    """Fixed-length UTF-8 strings (h5py gives bytes) -> str."""
    return np.char.decode(a.astype(bytes), "utf-8") if a.size else a.astype(str)


def _attr_text(v) -> str:
    return v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v)


def _read(f: h5py.File, path: str, name: str) -> np.ndarray:
    if name not in f:
        raise ResultsFileError(f"{path}: expected dataset /{name} of an ordertune results file, "
                               f"not found")
    a = f[name][()]
    return _decode(a) if a.dtype.kind == "S" else a


def _read_columns(f: h5py.File, path: str, names: list, what: str) -> dict:
    """The datasets `names`, which must all have as many rows as the first (one per `what`)."""
    cols = {name: _read(f, path, name) for name in names}
    n = len(cols[names[0]])
    for name, a in cols.items():
        if len(a) != n:
            raise ResultsFileError(f"{path}: /{name} has {len(a)} rows, expected {n} "
                                   f"(one per {what}, as /{names[0]})")
    return cols


def _read_nodes(f: h5py.File, path: str) -> pd.DataFrame:
    cols = _read_columns(f, path, _PER_NODE, "plan node")
    nodes = pd.DataFrame({
        "kind": cols["plan/kind"].astype(int),
        "parent": cols["plan/parent"].astype(np.int64),
        "replicate": cols["plan/replicate"].astype(int),
        "order": cols["plan/path"],
        "task": cols["plan/task"],
        "name": cols["plan/name"],
        "done": cols["nodes/status"] == 1,
        "rank": cols["nodes/rank"].astype(int),
        "start_time": cols["nodes/start_time"],
        "end_time": cols["nodes/end_time"],
        "train_seconds": cols["nodes/train_seconds"],
        "eval_seconds": cols["nodes/eval_seconds"],
        "wait_seconds": cols["nodes/wait_seconds"],
        "steps": cols["nodes/steps"],
        "target_score": cols["metrics/target_score"],
    })
    nodes.index.name = "node"
    return nodes


def _read_metrics(f: h5py.File, path: str, n_nodes: int) -> pd.DataFrame:
    cols = _read_columns(f, path, _PER_METRIC_ROW, "metric row")
    m = len(cols["metrics/node"])
    node = cols["metrics/node"].astype(np.int64)
    if m and (node.min() < 0 or node.max() >= n_nodes):
        raise ResultsFileError(f"{path}: /metrics/node refers to node {node.max()}, "
                               f"expected ids below {n_nodes}")
    return pd.DataFrame({"node": node, "language": cols["metrics/language"],
                         "metric": cols["metrics/name"], "split": cols["metrics/split"],
                         "value": cols["metrics/value"].astype(float)})


def load_results(path: str | os.PathLike) -> Results:
    """Reads a results file; ResultsFileError (one line) if it is missing or not one of ours."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ResultsFileError(f"{path}: no such results file")
    if not os.path.isfile(path):
        raise ResultsFileError(f"{path}: expected an ordertune results file, found a directory "
                               f"or special file")
    try:
        # Read-only, no file locking: never modifies the file, readable while a sweep writes it.
        f = h5py.File(path, "r", locking=False)
    except OSError as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ResultsFileError(f"{path}: expected an ordertune results file (HDF5), found a file "
                               f"HDF5 cannot open ({reason})") from None
    with f:
        attrs = {k: _attr_text(v) for k, v in f.attrs.items()}
        if attrs.get("created_by") != "ordertune":
            raise ResultsFileError(f"{path}: expected an ordertune results file (root attribute "
                                   f"created_by = 'ordertune'), found an HDF5 file without it")
        if attrs.get("format_version") != FORMAT_VERSION:
            raise ResultsFileError(f"{path}: expected results format_version {FORMAT_VERSION}, "
                                   f"found {attrs.get('format_version')!r}")
        nodes = _read_nodes(f, path)
        metrics = _read_metrics(f, path, len(nodes))
        offset, loss = (_read(f, path, name) for name in _CURVES)
        if len(offset) != len(nodes) + 1 or offset[-1] > len(loss):
            raise ResultsFileError(f"{path}: /curves/offset has {len(offset)} rows ending at "
                                   f"{offset[-1] if len(offset) else 0}, expected {len(nodes) + 1} "
                                   f"ending within /curves/loss ({len(loss)} rows)")
        config_text = bytes(_read(f, path, "config_text")).decode("utf-8", errors="replace")
    return Results(path=path, attrs=attrs, config_text=config_text, nodes=nodes, metrics=metrics,
                   curve_offset=offset.astype(np.int64), loss=loss.astype(float))


# ---- tidy tables ---------------------------------------------------------------------------------

def _with_leaf(res: Results, table: pd.DataFrame) -> pd.DataFrame:
    """Adds seed, order, target of each row's node (a target leaf) in front."""
    leaf = res.nodes.loc[table["node"], ["replicate", "order", "task"]].reset_index(drop=True)
    leaf.columns = ["seed", "order", "target"]
    return pd.concat([leaf, table.reset_index(drop=True)], axis=1)


def metric_table(res: Results) -> pd.DataFrame:
    """seed, order, target, language, split, metric, value: one row per finished metric, in file
    order (split: the one scored, test or dev where the download hides test labels).

    The same rows as `ordertune results` (results.cpp, write_results_csv): metric rows of done
    nodes with a finite value.
    """
    m = res.metrics
    keep = res.done.to_numpy()[m["node"].to_numpy()] & np.isfinite(m["value"].to_numpy())
    t = _with_leaf(res, m[keep])
    return t[["seed", "order", "target", "language", "split", "metric", "value"]]


def target_splits(res: Results) -> dict:
    """target -> the split(s) its metrics score, "+"-joined when its languages differ (as
    `ordertune status` prints them)."""
    m = res.metrics
    tasks = res.nodes["task"].to_numpy()[m["node"].to_numpy()]
    out = {}
    for target, split in zip(tasks, m["split"].to_numpy()):
        out.setdefault(str(target), set()).add(str(split))
    return {t: "+".join(sorted(s)) for t, s in sorted(out.items())}


def target_scores(res: Results) -> pd.DataFrame:
    """seed, order, target, score: the XTREME-R task score of every done target leaf.

    The score is /metrics/target_score, computed by the sweep (metrics.cpp, task_score of the
    metrics averaged over languages; QA = (EM + F1) / 2).
    """
    n = res.nodes
    leaves = n[(n["kind"] == KIND_TARGET) & n["done"] & np.isfinite(n["target_score"])]
    return pd.DataFrame({"seed": leaves["replicate"].to_numpy(), "order": leaves["order"].to_numpy(),
                         "target": leaves["task"].to_numpy(),
                         "score": leaves["target_score"].to_numpy()})


def language_scores(res: Results) -> pd.DataFrame:
    """seed, order, target, language, score: the task score per language of done target leaves.

    The rule is metrics.cpp's task_score applied to one language: (exact_match + f1) / 2 where
    there is an exact match (QA), else f1 (tagging, BUCC), else accuracy, else map@20. It is
    linear, so the mean over a leaf's languages is its target_score.
    """
    t = metric_table(res)
    if t.empty:
        return pd.DataFrame(columns=["seed", "order", "target", "language", "score"])
    keys = ["seed", "order", "target", "language"]
    wide = t.pivot(index=keys, columns="metric", values="value")

    def col(name):
        return wide[name] if name in wide else pd.Series(np.nan, index=wide.index)

    score = np.where(col("exact_match").notna(), (col("exact_match") + col("f1")) / 2,
                     col("f1").fillna(col("accuracy")).fillna(col("map@20")))
    return wide.assign(score=score)["score"].reset_index().dropna(subset=["score"])


def order_scores(res: Results) -> pd.DataFrame:
    """seed, order, score: the overall score of each (seed, order) whose targets are all done.

    Overall = the mean of the target task scores, as XTREME-R's leaderboard averages its tasks
    (Ruder et al. 2021, arXiv 2104.07412). A (seed, order) counts only when every target that
    has any score in the file is done for it, so that a running sweep does not compare means over
    different target sets; targets never scored (no labelled split) are left out everywhere.
    """
    t = target_scores(res)
    cols = ["seed", "order", "score", "targets"]
    if t.empty:
        return pd.DataFrame(columns=cols)
    scored = t["target"].nunique()
    g = t.groupby(["seed", "order"], sort=False)["score"].agg(["mean", "count"]).reset_index()
    g = g[g["count"] == scored].rename(columns={"mean": "score", "count": "targets"})
    return g[cols].reset_index(drop=True)


def order_progress(res: Results) -> pd.DataFrame:
    """seed, order, planned, done: target leaves per planned (seed, order)."""
    leaves = res.nodes[res.nodes["kind"] == KIND_TARGET]
    g = leaves.groupby(["replicate", "order"], sort=False)["done"].agg(["size", "sum"])
    return g.reset_index().rename(columns={"replicate": "seed", "size": "planned", "sum": "done"})


def stage_reuse(res: Results) -> pd.Series:
    """Per node: how many planned orders go through it (prefix sharing, DESIGN.md decision 5).

    A stage node A>B is trained once and reused by every order of its replicate that starts with
    A>B; the root is reused by every order of every replicate. Target leaves count 0.
    """
    n = res.nodes
    leaves = n[n["kind"] == KIND_TARGET].drop_duplicates(["replicate", "order"])
    count = np.zeros(len(n), dtype=int)
    parent = n["parent"].to_numpy()
    order = n["order"].to_numpy()
    for node, leaf_order in zip(leaves["parent"], leaves["order"]):
        # A leaf below its target's pre-stages ([targets.<task>] before) reaches its order node
        # through them: they belong to that target, not to the order.
        while node >= 0 and n["kind"].iat[node] != KIND_ROOT and order[node] != leaf_order:
            node = parent[node]
        while node >= 0:  # walk the order's path from its order node to the root
            count[node] += 1
            node = parent[node]
    return pd.Series(count, index=n.index)
