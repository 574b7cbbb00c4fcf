"""Statistics of order effects on the overall score of (seed, order) pairs.

Input everywhere is load.order_scores: one row per (seed, order) with its overall score. `seed`
is the replicate: replicates are the independent repetitions of the sweep (DESIGN.md, decision
6), so every comparison is made within a seed and then pooled.

Dependence. Within a replicate, orders that share a prefix share its trained stage nodes
(decision 5), so their scores share that node's training noise, and comparisons that involve
the same node are not independent. Resampling and sign-flipping are therefore done over clusters
of comparisons (matched_swaps and position_differences define them), not over single
comparisons; with k clusters the smallest attainable two-sided p-value is 2 / 2**k.

Methods:
  - t intervals of a mean over seeds: mean +- t_{0.975, n-1} * sd / sqrt(n).
  - paired_effect: the mean over clusters of the mean matched difference in each; expanded
    percentile bootstrap over clusters (Hesterberg 2015; resampling clusters: Davison and
    Hinkley 1997, sec. 3.8); two-sided sign-flip test over clusters (Fisher's randomization test
    of a symmetric null; exact enumeration when 2**clusters <= permutations, else Monte Carlo
    with p = (1 + b) / (1 + R), Phipson and Smyth 2010).
  - Holm's step-down adjustment across the pairs or tasks of one table (Holm 1979).
  - Nested (hierarchical) sums of squares: task set > order within set > seed within order.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
from scipy import stats

from analysis.load import order_stages, order_text

LEVEL = 0.95  # confidence level of every interval


@dataclasses.dataclass(frozen=True)
class Effect:
    """A mean matched difference with its bootstrap interval and sign-flip p-value."""

    estimate: float
    ci_low: float
    ci_high: float
    p: float
    pairs: int     # matched differences
    clusters: int  # independent units resampled and sign-flipped


@dataclasses.dataclass(frozen=True)
class Resampling:
    """How many resamples; `seed` makes a report reproducible."""

    bootstrap: int = 2000
    permutations: int = 10000
    seed: int = 0

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


def t_interval(values) -> tuple[float, float, float]:
    """(mean, low, high) with a Student t interval; NaN bounds with fewer than 2 values."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(v.mean())
    if v.size < 2:
        return (mean, np.nan, np.nan)
    half = stats.t.ppf((1 + LEVEL) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return (mean, mean - half, mean + half)


def paired_effect(diffs, clusters, resampling: Resampling, rng: np.random.Generator) -> Effect:
    """The mean over clusters of the mean matched difference in each, with inference over clusters.

    Each cluster (a set of matched differences that share training noise) weighs the same: its
    differences are not independent, so it counts as one unit. The interval is the expanded
    percentile bootstrap (Hesterberg 2015, "What teachers should know about the bootstrap", The
    American Statistician 69(4), the "expanded percentile interval"): the percentile interval at
    tail probability Phi(-sqrt(k / (k - 1)) * t_{0.975, k-1}) instead of 0.025, which corrects the
    plain percentile interval's narrowness with few (k) clusters. The sign-flip test negates whole
    cluster means, which under "no effect" are symmetric about 0.
    """
    d = pd.Series(np.asarray(diffs, dtype=float))
    means = d.groupby(pd.factorize(pd.Series(list(clusters), dtype=object))[0]).mean().to_numpy()
    k = len(means)
    if k == 0:
        return Effect(np.nan, np.nan, np.nan, np.nan, 0, 0)
    estimate = float(means.mean())
    low = high = np.nan
    if k > 1:
        tail = stats.norm.cdf(-np.sqrt(k / (k - 1)) * stats.t.ppf((1 + LEVEL) / 2, k - 1))
        boot = means[rng.integers(0, k, size=(resampling.bootstrap, k))].mean(axis=1)
        low, high = np.quantile(boot, [tail, 1 - tail])
    exact = 2 ** k <= resampling.permutations
    if exact:  # every sign pattern once
        signs = ((np.arange(2 ** k)[:, None] >> np.arange(k)) & 1) * 2 - 1
    else:
        signs = rng.choice([-1.0, 1.0], size=(resampling.permutations, k))
    flipped = np.abs(signs @ means / k)
    extreme = np.count_nonzero(flipped >= abs(estimate) - 1e-12 * max(1.0, abs(estimate)))
    p = extreme / len(signs) if exact else (1 + extreme) / (1 + len(signs))
    return Effect(estimate, float(low), float(high), float(p), int(d.size), k)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are left out and stay NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


# ---- scores per order ------------------------------------------------------------------------

def order_kind(order: str, mixtures) -> str:
    """baseline (no intermediate stage), mixture (has a multi-task stage), single, sequence."""
    stages = order_stages(order)
    if not stages:
        return "baseline"
    if any(s in mixtures for s in stages):
        return "mixture"
    return "single" if len(stages) == 1 else "sequence"


def paired_difference(scores: pd.DataFrame, order: str, reference: str) -> tuple[float, float, float]:
    """Mean and t interval of score(order) - score(reference) over the seeds that have both."""
    by = scores.pivot(index="seed", columns="order", values="score")
    if order not in by or reference not in by:
        return (np.nan, np.nan, np.nan)
    return t_interval((by[order] - by[reference]).dropna())


def order_summary(scores: pd.DataFrame, mixtures=()) -> pd.DataFrame:
    """Per order: kind, seeds, mean, sd, t interval, per-seed values, and the paired difference to
    the baseline; sorted by mean, best first."""
    rows = []
    for order, g in scores.groupby("order", sort=False):
        g = g.sort_values("seed")
        mean, low, high = t_interval(g["score"])
        delta = paired_difference(scores, order, "") if order else (np.nan,) * 3
        rows.append({"order": order, "kind": order_kind(order, mixtures), "length": len(order_stages(order)),
                     "seeds": len(g), "mean": mean,
                     "sd": g["score"].std(ddof=1) if len(g) > 1 else np.nan,
                     "ci_low": low, "ci_high": high,
                     "values": dict(zip(g["seed"].astype(int), g["score"])),
                     "delta": delta[0], "delta_low": delta[1], "delta_high": delta[2]})
    cols = ["order", "kind", "length", "seeds", "mean", "sd", "ci_low", "ci_high", "values",
            "delta", "delta_low", "delta_high"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)


# ---- precedence ------------------------------------------------------------------------------

def matched_swaps(scores: pd.DataFrame) -> pd.DataFrame:
    """Every within-seed comparison of an order with the order that swaps two of its stages.

    For an order o with stage A at position i before stage B at position j, the matched order
    has A and B exchanged and every other stage in place (same task set). One row per (seed, o,
    i < j): first = A, second = B, diff = score(o) - score(swapped). The cluster is (seed, the
    stages before position i): two comparisons with the same cluster share the stage node at
    position i (A in o, B in the swap) and so its training noise; comparisons in different
    clusters share no node at or after position i.
    """
    lookup = {(int(s), order_stages(o)): v for s, o, v in zip(scores["seed"], scores["order"], scores["score"])}
    rows = []
    for (seed, stages), value in lookup.items():
        for i, j in itertools.combinations(range(len(stages)), 2):
            swapped = list(stages)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            other = lookup.get((seed, tuple(swapped)))
            if other is not None:
                rows.append((stages[i], stages[j], seed, order_text(stages), order_text(swapped),
                             value - other, f"{seed}|{order_text(stages[:i])}"))
    return pd.DataFrame(rows, columns=["first", "second", "seed", "order", "swapped", "diff", "cluster"])


def precedence_effects(scores: pd.DataFrame, stages, resampling: Resampling) -> pd.DataFrame:
    """Per unordered pair {A, B} (A listed first in `stages`): the mean of score(A before B) -
    score(B before A) over matched swaps, its bootstrap interval, sign-flip p and Holm's p."""
    swaps = matched_swaps(scores)
    rng = resampling.rng()
    rows = []
    for a, b in itertools.combinations(stages, 2):
        m = swaps[(swaps["first"] == a) & (swaps["second"] == b)]
        if len(m):
            rows.append({"first": a, "second": b,
                         **dataclasses.asdict(paired_effect(m["diff"], m["cluster"], resampling, rng))})
    out = pd.DataFrame(rows, columns=["first", "second", *Effect.__dataclass_fields__])
    out["p_holm"] = holm(out["p"])
    return out


def precedence_matrix(effects: pd.DataFrame, stages, value: str = "estimate") -> pd.DataFrame:
    """Row A, column B: `value` of the pair {A, B} (NaN where no matched orders). The estimate is
    mean score(A before B) - score(B before A), so its matrix is antisymmetric; any other column
    (a p-value) is symmetric."""
    mat = pd.DataFrame(np.nan, index=list(stages), columns=list(stages))
    mirror = -1.0 if value == "estimate" else 1.0
    for first, second, v in zip(effects["first"], effects["second"], effects[value]):
        mat.loc[first, second] = v
        mat.loc[second, first] = mirror * v
    return mat


# ---- position ------------------------------------------------------------------------------

def position_differences(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, task set of 2+ stages, task T in it): the mean score of the set's orders with T
    first minus the mean with T last.

    The cluster is the seed: within a seed every order that starts with T shares the stage node T
    and its noise, whatever the rest of the set.
    """
    rows = []
    for seed, g in scores.groupby("seed"):
        sets: dict[frozenset, list] = {}
        for o, v in zip(g["order"], g["score"]):
            stages = order_stages(o)
            if len(stages) >= 2:
                sets.setdefault(frozenset(stages), []).append((stages, v))
        for task_set, members in sets.items():
            for task in sorted(task_set):
                first = [v for st, v in members if st[0] == task]
                last = [v for st, v in members if st[-1] == task]
                if first and last:
                    rows.append((task, int(seed), order_text(sorted(task_set)),
                                 np.mean(first) - np.mean(last), str(seed)))
    return pd.DataFrame(rows, columns=["task", "seed", "task_set", "diff", "cluster"])


def position_effects(scores: pd.DataFrame, stages, resampling: Resampling) -> pd.DataFrame:
    """Per task: mean (score with the task first - score with it last) over sets and seeds."""
    diffs = position_differences(scores)
    rng = resampling.rng()
    rows = []
    for task in stages:
        m = diffs[diffs["task"] == task]
        if len(m):
            rows.append({"task": task, "task_sets": m["task_set"].nunique(),
                         **dataclasses.asdict(paired_effect(m["diff"], m["cluster"], resampling, rng))})
    out = pd.DataFrame(rows, columns=["task", "task_sets", *Effect.__dataclass_fields__])
    out["p_holm"] = holm(out["p"])
    return out


# ---- variance decomposition ----------------------------------------------------------------

def variance_decomposition(scores: pd.DataFrame) -> pd.DataFrame:
    """Nested sums of squares of the overall score: task set, order within set, seed within order.

    With y the score of (seed, order), the task set S(order) its unordered stages (the baseline
    is the empty set):
        SS_set   = sum over rows (mean_S - mean)^2          df = sets - 1
        SS_order = sum over rows (mean_order - mean_S)^2    df = orders - sets
        SS_seed  = sum over rows (y - mean_order)^2         df = rows - orders
    They add up to SS_total = sum (y - mean)^2 for any (also unbalanced) data, because each term
    is a deviation from the mean of the level above. `fraction` = SS / SS_total. A fraction is
    not a variance component: seed noise alone gives the order level a share near
    df_order / df_total, so each level is also tested against the next level below with df > 0,
    F = MS / MS_below (the nested-ANOVA F test, e.g. Sokal and Rohlf, Biometry, ch. 10).
    """
    cols = ["component", "df", "sum_sq", "fraction", "mean_sq", "F", "p"]
    if scores.empty:
        return pd.DataFrame(columns=cols)
    y = scores["score"].astype(float)
    task_set = scores["order"].map(lambda o: order_text(sorted(order_stages(o))))
    set_mean = y.groupby(task_set).transform("mean")
    order_mean = y.groupby(scores["order"]).transform("mean")
    n_sets, n_orders = task_set.nunique(), scores["order"].nunique()
    out = pd.DataFrame({
        "component": ["task set", "order within set", "seed (residual)"],
        "df": [n_sets - 1, n_orders - n_sets, len(y) - n_orders],
        "sum_sq": [((set_mean - y.mean()) ** 2).sum(), ((order_mean - set_mean) ** 2).sum(),
                   ((y - order_mean) ** 2).sum()]})
    total = out["sum_sq"].sum()
    out["fraction"] = out["sum_sq"] / total if total > 0 else np.nan
    out["mean_sq"] = out["sum_sq"] / out["df"].where(out["df"] > 0)
    out["F"], out["p"] = np.nan, np.nan
    for i in range(len(out) - 1):
        below = out.iloc[i + 1:][out["df"].iloc[i + 1:] > 0]
        if out.at[i, "df"] > 0 and len(below) and below["mean_sq"].iloc[0] > 0:
            out.at[i, "F"] = out.at[i, "mean_sq"] / below["mean_sq"].iloc[0]
            out.at[i, "p"] = stats.f.sf(out.at[i, "F"], out.at[i, "df"], below["df"].iloc[0])
    return out[cols]
