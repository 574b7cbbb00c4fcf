"""Synthetic ordertune results files with planted order effects, for testing analysis/.

write_results(path, Spec(...)) writes a file with the layout of src/results.cpp (same dataset
names, dtypes, fixed-length UTF-8 strings, a `description` on every dataset) for a
k_permutations plan built as plan.h numbers it: the root, then per replicate its stage nodes in
order of first appearance, then its target leaves (the baseline's leaves hang under the root).

The score model (points, per replicate r, order o, target t, language l):
    s = base[t] + offset[l]
        + sum of set_effect[stage] over o's stages                  (task-set effect)
        + sum of precedence[(a, b)] over pairs with a before b in o  (planted precedence)
        + position[x] / 2 if o starts with x, - position[x] / 2 if it ends with x (len >= 2)
        + sum of node noise N(0, node_sd) over o's stage nodes in r  (shared by prefixes)
        + N(0, leaf_sd) per target leaf + N(0, language_sd) per language
The metrics of a language are written so that its task score (metrics.cpp task_score) is s:
accuracy = s; QA exact_match = s - 4, f1 = s + 4; tagging f1 = s, precision s + 1, recall s - 1.
target_score is the mean of s over languages, as the sweep computes it.

Nodes with id >= Spec.done_nodes are not done (a running sweep: ids are topological, so no
pending node has a done descendant). Their metric values are written anyway with an absurd value
(as a node whose data is written but whose done mark is not yet), so a reader that forgets the
status check is caught.

The returned Truth holds what the generator wrote for done nodes: the metric rows in file order
and the target scores, for tests to compare against independently of analysis/.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys

import h5py
import numpy as np

# Metric rows per target kind, and how each metric derives from the language's task score s.
METRICS = {
    "accuracy": [("accuracy", 0.0)],
    "qa": [("exact_match", -4.0), ("f1", 4.0)],
    "tagging": [("f1", 0.0), ("precision", 1.0), ("recall", -1.0)],
}
PENDING_VALUE = 999.0  # written into metric rows of nodes that are not done


@dataclasses.dataclass
class Spec:
    stages: tuple = ("mnli", "squad_v1", "hellaswag", "cosmosqa", "qqp")
    lengths: tuple = (0, 1, 2, 3)
    targets: dict = dataclasses.field(default_factory=lambda: {
        "xnli": ("accuracy", 70.0), "xquad": ("qa", 55.0), "udpos": ("tagging", 80.0)})
    languages: dict = dataclasses.field(default_factory=lambda: {"en": 8.0, "sa": 0.0, "sb": -3.0})
    replicates: int = 5
    set_effect: dict = dataclasses.field(default_factory=lambda: {
        "mnli": 1.0, "squad_v1": 0.6, "hellaswag": -0.4, "cosmosqa": 0.3, "qqp": -0.2})
    precedence: dict = dataclasses.field(default_factory=lambda: {("mnli", "squad_v1"): 2.0})
    position: dict = dataclasses.field(default_factory=lambda: {"hellaswag": 1.5})
    node_sd: float = 0.15
    leaf_sd: float = 0.3
    language_sd: float = 0.1
    mixtures: dict = dataclasses.field(default_factory=dict)  # name -> member tasks (config only)
    done_nodes: int | None = None  # None: every node done
    rng_seed: int = 2026
    sweep_name: str = "synthetic"

    def orders(self):
        for k in self.lengths:
            yield from itertools.permutations(self.stages, k)

    def order_effect(self, order: tuple) -> float:
        """The planted, noise-free part of an order's score."""
        v = sum(self.set_effect.get(s, 0.0) for s in order)
        for a, b in itertools.combinations(order, 2):  # a before b
            v += self.precedence.get((a, b), 0.0)
        if len(order) >= 2:
            v += self.position.get(order[0], 0.0) / 2 - self.position.get(order[-1], 0.0) / 2
        return v


@dataclasses.dataclass
class Truth:
    rows: list          # (seed, order, target, language, split, metric, value) of done leaves,
                        # file order
    target_scores: dict  # (seed, order, target) -> target score, done leaves
    nodes: int


@dataclasses.dataclass
class _Node:
    kind: int
    parent: int
    replicate: int
    path: tuple
    task: str

    @property
    def name(self) -> str:  # plan.cpp node_name
        if self.kind == 0:
            return "root"
        key = f"r{self.replicate}/{'>'.join(self.path)}"
        return key + (f":{self.task}" if self.kind == 2 else "")


def plan(spec: Spec) -> list[_Node]:
    nodes = [_Node(0, -1, -1, (), "")]
    for r in range(spec.replicates):
        index = {(): 0}
        for order in spec.orders():
            for depth in range(1, len(order) + 1):
                prefix = order[:depth]
                if prefix not in index:
                    index[prefix] = len(nodes)
                    nodes.append(_Node(1, index[prefix[:-1]], r, prefix, prefix[-1]))
        for order in spec.orders():
            for target in spec.targets:
                nodes.append(_Node(2, index[order], r, order, target))
    return nodes


def _strings(group, name, values, description):
    encoded = [v.encode("utf-8") for v in values]
    width = max([1, *map(len, encoded)])
    d = group.create_dataset(name, shape=(len(encoded),), dtype=h5py.string_dtype("utf-8", width))
    if encoded:  # h5py converts no bytes to UTF-8 strings: write with the file type as memory type
        d.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(encoded, dtype=f"S{width}"), mtype=d.id.get_type())
    _attr(d, "description", description)


def _data(group, name, values, dtype, description):
    d = group.create_dataset(name, data=np.asarray(values, dtype=dtype))
    _attr(d, "description", description)


def _attr(obj, name, value):
    raw = value.encode("utf-8") or b"\0"
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(raw))
    tid.set_cset(h5py.h5t.CSET_UTF8)
    attr = h5py.h5a.create(obj.id, name.encode(), tid, h5py.h5s.create(h5py.h5s.SCALAR))
    attr.write(np.array(raw, dtype=f"S{len(raw)}"), mtype=tid)


def _config_text(spec: Spec) -> str:
    lines = [f'[sweep]\nname = "{spec.sweep_name}"\nreplicates = {spec.replicates}\n',
             '[orders]\nmode = "k_permutations"',
             "stages = [" + ", ".join(f'"{s}"' for s in spec.stages) + "]",
             f"lengths = {list(spec.lengths)}\n",
             "[targets]\ntasks = [" + ", ".join(f'"{t}"' for t in spec.targets) + "]\n"]
    for name, members in spec.mixtures.items():
        lines.append(f"[mixtures.{name}]\ntasks = [" + ", ".join(f'"{m}"' for m in members) + "]\n")
    return "\n".join(lines)


def write_results(path, spec: Spec | None = None) -> Truth:
    spec = spec or Spec()
    rng = np.random.default_rng(spec.rng_seed)
    nodes = plan(spec)
    n = len(nodes)
    done = np.arange(n) < (n if spec.done_nodes is None else spec.done_nodes)

    # Scores: node noise per stage node, accumulated along the path.
    path_noise = np.zeros(n)
    for i, node in enumerate(nodes):
        if node.kind == 1:
            path_noise[i] = path_noise[node.parent] + rng.normal(0, spec.node_sd)
    m_node, m_lang, m_name, m_split, m_value = [], [], [], [], []
    # The split each target is scored on: its test split, but dev for the first target (as for a
    # download that hides the test labels).
    split_of = {t: "dev" if k == 0 else "test" for k, t in enumerate(spec.targets)}
    target_score = np.full(n, np.nan)
    truth = Truth(rows=[], target_scores={}, nodes=n)
    for i, node in enumerate(nodes):
        if node.kind != 2:
            continue
        kind, base = spec.targets[node.task]
        leaf = base + spec.order_effect(node.path) + path_noise[node.parent] + rng.normal(0, spec.leaf_sd)
        per_language = []
        for lang, offset in spec.languages.items():
            s = leaf + offset + rng.normal(0, spec.language_sd)
            per_language.append(s)
            for metric, shift in METRICS[kind]:
                value = s + shift if done[i] else PENDING_VALUE
                m_node.append(i); m_lang.append(lang); m_name.append(metric); m_value.append(value)
                m_split.append(split_of[node.task])
                if done[i]:
                    truth.rows.append((node.replicate, ">".join(node.path), node.task, lang,
                                       split_of[node.task], metric, value))
        if done[i]:
            target_score[i] = np.mean(per_language)
            truth.target_scores[(node.replicate, ">".join(node.path), node.task)] = target_score[i]

    # Timing: two ranks taking nodes in id order, each after its parent ends.
    steps = np.array([30 if nd.kind == 0 else 20 if nd.kind == 1 else 10 for nd in nodes])
    start, end = np.full(n, np.nan), np.full(n, np.nan)
    rank = np.full(n, -1, dtype=np.int32)
    clock = [1.7e9, 1.7e9]
    for i, node in enumerate(nodes):
        if not done[i] and (i == 0 or not done[i - 1]):
            break  # the first pending node is running; later ones have not started
        r = i % 2
        start[i] = max(clock[r], end[node.parent] if node.parent >= 0 else 0)
        rank[i] = r
        if done[i]:
            end[i] = clock[r] = start[i] + 0.05 * steps[i]
    curve_offset = np.concatenate([[0], np.cumsum(steps)])
    loss = np.full(curve_offset[-1], np.nan, dtype=np.float32)
    for i in np.flatnonzero(done):
        t = np.arange(steps[i])
        loss[curve_offset[i]:curve_offset[i + 1]] = 2.0 * np.exp(-t / 8) + 0.3 + 0.05 * rng.random(steps[i])

    with h5py.File(path, "w") as f:
        _attr(f, "description", "ordertune sweep results (synthetic, tests/analysis/synthetic.py)")
        for key, value in [("created_by", "ordertune"), ("sweep_name", spec.sweep_name),
                           ("config_hash", "0123456789abcdef"), ("layout_hash", "fedcba9876543210"),
                           ("format_version", "1")]:
            _attr(f, key, value)
        text = _config_text(spec).encode("utf-8")
        _data(f, "config_text", np.frombuffer(text, dtype=np.uint8), np.uint8, "config bytes")
        g = f.create_group("plan")
        _data(g, "kind", [nd.kind for nd in nodes], np.int8, "0 root, 1 stage, 2 target")
        _data(g, "parent", [nd.parent for nd in nodes], np.int64, "parent node")
        _data(g, "replicate", [nd.replicate for nd in nodes], np.int32, "replicate")
        _strings(g, "path", [">".join(nd.path) for nd in nodes], "stages from the root")
        _strings(g, "task", [nd.task for nd in nodes], "stage or target")
        _strings(g, "name", [nd.name for nd in nodes], "node name")
        _data(g, "seed", np.arange(n) * 7919 + 11, np.uint64, "node seed")
        _data(g, "estimated_seconds", 0.05 * steps, np.float64, "cost estimate")
        g = f.create_group("nodes")
        _data(g, "status", done, np.int8, "0 pending, 1 done")
        _data(g, "rank", rank, np.int32, "rank")
        _data(g, "start_time", start, np.float64, "start")
        _data(g, "end_time", end, np.float64, "end")
        for name in ("train_seconds", "eval_seconds", "wait_seconds"):
            _data(g, name, np.where(done, 0.025 * steps, np.nan), np.float64, name)
        _data(g, "tokens", np.where(done, 100 * steps, 0), np.int64, "tokens")
        _data(g, "steps", np.where(done, steps, 0), np.int64, "steps")
        g = f.create_group("curves")
        _data(g, "offset", curve_offset, np.int64, "first row of each node")
        _data(g, "loss", loss, np.float32, "loss")
        _data(g, "lr", np.where(np.isfinite(loss), 1e-4, np.nan), np.float32, "lr")
        g = f.create_group("dev")
        _data(g, "offset", np.arange(n + 1), np.int64, "first row of each node")
        _data(g, "step", steps, np.int64, "step")
        _data(g, "score", np.where(done, 50.0, np.nan), np.float64, "dev score")
        g = f.create_group("metrics")
        _data(g, "node", m_node, np.int64, "target leaf node")
        _strings(g, "language", m_lang, "language")
        _strings(g, "name", m_name, "metric")
        _strings(g, "split", m_split, "split scored")
        _data(g, "value", m_value, np.float64, "value")
        _data(g, "target_score", target_score, np.float64, "XTREME-R task score")
        g = f.create_group("predictions")
        _data(g, "node", [], np.int64, "target leaf node")
        _strings(g, "language", [], "language")
        _data(g, "offset", [0], np.int64, "first value")
        _data(g, "score_offset", [0], np.int64, "first score")
        _data(g, "threshold", [], np.float64, "BUCC threshold")
        _data(g, "values", [], np.int64, "predictions")
        _data(g, "scores", [], np.float32, "BUCC scores")
        g = f.create_group("checkpoints")
        _data(g, "row", np.full(n, -1), np.int64, "row in weights")
    return truth


if __name__ == "__main__":  # python3 tests/analysis/synthetic.py OUT.h5: a file to look at
    print(write_results(sys.argv[1]).nodes, "nodes written to", sys.argv[1])
