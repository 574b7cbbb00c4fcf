"""report.md: the research question answered from one results file, with figures and CSVs.

Does the order of English intermediate-task training change zero-shot cross-lingual transfer
(README)? The report gives the XTREME-R score per order against the baseline and any mixture
stage, pairwise precedence effects, position effects, a variance decomposition (task set, order,
seed), per-target and per-language tables, the best and worst orders, and how the sweep ran.
It works on a running sweep (finished nodes only, and says so) and degrades to notes when the
data cannot support a section (no finished orders, orders shorter than 2, one seed).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import effects, figures, load
from analysis.effects import Resampling
from analysis.load import KIND_NAMES, Results

MAX_ORDERS = 60  # orders in per-order figures and tables; beyond, the 30 best and 30 worst


# ---- formatting ------------------------------------------------------------------------------

def _num(v, digits: int = 2) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _ci(low, high) -> str:
    return "—" if not (np.isfinite(low) and np.isfinite(high)) else f"[{low:.2f}, {high:.2f}]"


def _p(p) -> str:
    if not np.isfinite(p):
        return "—"
    return "<0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


def _order(order: str) -> str:
    return f"`{order}`" if order else "(baseline)"


def _table(rows: list[dict]) -> list[str]:
    """A Markdown table from dicts of already formatted cells."""
    if not rows:
        return []
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(r[h]) for h in head) + " |" for r in rows]
    return lines + [""]


@dataclasses.dataclass
class _Context:
    res: Results
    out: Path
    top: int
    scores: pd.DataFrame   # load.order_scores
    summary: pd.DataFrame  # effects.order_summary
    prec: pd.DataFrame | None = None  # effects.precedence_effects
    pos: pd.DataFrame | None = None   # effects.position_effects
    var: pd.DataFrame | None = None   # effects.variance_decomposition

    def figure(self, name: str, caption: str) -> list[str]:
        return [f"![{caption}]({name})", "", f"*{caption}*", ""]

    def shown(self) -> pd.DataFrame:
        """The summary rows to draw: all, or the best and worst when there are too many (plus the
        baseline and mixture orders, the reference points)."""
        s = self.summary
        if len(s) <= MAX_ORDERS:
            return s
        keep = s.index < MAX_ORDERS // 2
        keep |= s.index >= len(s) - MAX_ORDERS // 2
        keep |= s["kind"].isin(["baseline", "mixture"]).to_numpy()
        return s[keep]

    def csv(self, table: pd.DataFrame, name: str) -> str:
        table.to_csv(self.out / name, index=False)
        return name


# ---- sections ----------------------------------------------------------------------------------

def _header(c: _Context) -> list[str]:
    res, nodes = c.res, c.res.nodes
    progress = load.order_progress(res)
    complete = c.scores.groupby("seed")["order"].nunique() if len(c.scores) else pd.Series(dtype=int)
    per_kind = ", ".join(f"{KIND_NAMES[k]} {int(g['done'].sum())}/{len(g)}"
                         for k, g in nodes.groupby("kind"))
    started = nodes[np.isfinite(nodes["start_time"]) & ~nodes["done"]]
    facts = {"results file": f"`{res.path}`", "sweep": res.sweep_name,
             "config hash": f"`{res.attrs.get('config_hash', '')}`",
             "format version": res.attrs.get("format_version", ""),
             "nodes done": f"{int(nodes['done'].sum())} of {len(nodes)} ({per_kind})",
             "replicates (seeds)": f"{len(res.replicates)} planned; {len(complete)} with finished orders",
             "orders": f"{len(res.orders)} planned per seed; {len(c.scores)} of {len(progress)} "
                       "(seed, order) pairs have every target done",
             "intermediate stages": ", ".join(res.stages) or "none",
             "mixture stages": ", ".join(res.mixtures) or "none",
             "targets (split scored)": ", ".join(
                 f"{t} ({load.target_splits(res).get(t, 'no metrics')})" for t in res.targets)}
    lines = [f"# ordertune analysis: {res.sweep_name}", "",
             *_table([{"": k, " ": v} for k, v in facts.items()])]
    if res.finished:
        lines += ["The sweep is **finished**: every planned node is done.", ""]
    else:
        lines += [f"> **The sweep is not finished**: {int(nodes['done'].sum())} of {len(nodes)} nodes "
                  f"are done ({len(started)} started but not done: running, or interrupted). "
                  "Everything below uses finished nodes only, and a (seed, order) enters the scores "
                  "only when all its targets are done. Run the report again when the sweep ends.", ""]
    return lines


def _summary_points(c: _Context) -> list[str]:
    """The answer in brief, each point backed by a section below."""
    s = c.summary
    lines = ["## Answer in brief", ""]
    base = s[s["kind"] == "baseline"]
    best = s.iloc[0]
    lines.append(f"- Best order: {_order(best['order'])} at {_num(best['mean'])} points"
                 + (f" ({best['delta']:+.2f} over the baseline's {_num(base.iloc[0]['mean'])}; 95% CI of "
                    f"the difference {_ci(best['delta_low'], best['delta_high'])})"
                    if len(base) and best["order"] and np.isfinite(best["delta"]) else "")
                 + ".")
    if c.prec is not None and len(c.prec):
        sig = c.prec[c.prec["p_holm"] < 0.05]
        lines.append(f"- Precedence: {len(sig)} of {len(c.prec)} stage pairs change the score with their "
                     "order (Holm-adjusted p < 0.05)"
                     + (": " + ", ".join(f"`{r.first}` before `{r.second}` {r.estimate:+.2f}"
                                          for r in sig.itertuples()) if len(sig) else "")
                     + _power_note(c.prec, "clusters") + ".")
    if c.pos is not None and len(c.pos):
        sig = c.pos[c.pos["p_holm"] < 0.05]
        lines.append(f"- Position: {len(sig)} of {len(c.pos)} stages score differently first than last "
                     "(Holm-adjusted p < 0.05)" + _power_note(c.pos, "seeds") + ".")
    if c.var is not None and c.var["fraction"].notna().all():
        shares = ", ".join(f"{r.component} {100 * r.fraction:.0f}%"
                           + (f" (F test p {_p(r.p)})" if np.isfinite(r.p) else "") for r in c.var.itertuples())
        lines.append(f"- Sums of squares of the score: {shares}.")
    return lines + [""]


def _power_note(table: pd.DataFrame, unit: str) -> str:
    """Says when the sign-flip test cannot reach p < 0.05: its smallest p is 2 / 2^clusters
    (1 with a single cluster)."""
    k = int(table["clusters"].max())
    unit = unit if k != 1 else unit[:-1]
    return "" if 2 / 2 ** k < 0.05 else (f"; with {k} {unit} the smallest attainable p is "
                                         f"{2 / 2 ** k:.3g}, so no test can reach 0.05 (more seeds needed)")


def _order_section(c: _Context) -> list[str]:
    s, shown = c.summary, c.shown()
    lines = ["## 1. XTREME-R score per order", "",
             "Score of a (seed, order) = the mean of its target task scores (XTREME-R averages "
             "its tasks; a task score is the mean over languages, QA = (EM + F1) / 2). Per order: "
             "the mean over seeds with a 95% t interval, each seed's value, and the paired "
             "difference to the baseline (same seed) with its t interval.", ""]
    lines += c.figure(figures.order_scores_figure(shown, c.scores, c.out / "order_scores.png").name,
                      "XTREME-R score per order" + (" (best and worst 30, baseline, mixtures)"
                                                    if len(shown) < len(s) else ""))
    rows = [{"order": _order(r.order), "kind": r.kind, "seeds": r.seeds, "mean": _num(r.mean),
             "95% CI": _ci(r.ci_low, r.ci_high),
             "per seed": " ".join(f"{k}:{v:.2f}" for k, v in r.values.items()),
             "Δ baseline": _num(r.delta), "Δ 95% CI": _ci(r.delta_low, r.delta_high)}
            for r in shown.itertuples()]
    lines += _table(rows)
    lines += [f"Every order: `{c.csv(s.drop(columns='values'), 'orders.csv')}`.", ""]
    lines += _reference_points(c)
    if s["seeds"].max() < 2:
        lines += ["Only one seed per order: intervals need at least two and are shown as —.", ""]
    return lines


def _reference_points(c: _Context) -> list[str]:
    """The baseline and multi-task (mixture) stages against the best sequential order."""
    s = c.summary
    mixtures = s[s["kind"] == "mixture"]
    if c.res.mixtures and mixtures.empty:
        return [f"Mixture stages ({', '.join(c.res.mixtures)}) have no finished order yet.", ""]
    sequences = s[s["kind"] == "sequence"]
    if mixtures.empty or sequences.empty:
        return []
    best = sequences.iloc[0]["order"]
    lines = [f"Multi-task (mixture) orders against the best sequential order {_order(best)} "
             "(paired by seed):", ""]
    rows = []
    for r in mixtures.itertuples():
        d = effects.paired_difference(c.scores, best, r.order)
        rows.append({"mixture order": _order(r.order), "mean": _num(r.mean),
                     "Δ baseline": _num(r.delta), f"{best} − mixture": _num(d[0]), "95% CI": _ci(d[1], d[2])})
    return lines + _table(rows)


def _precedence_section(c: _Context) -> list[str]:
    lines = ["## 2. Pairwise precedence effects", ""]
    if c.prec is None or c.prec.empty:
        return lines + ["Needs finished orders with at least two stages and their swaps (orders.lengths "
                        "with k ≥ 2); this file has none yet.", ""]
    matrix = effects.precedence_matrix(c.prec, c.res.stages)
    sig = effects.precedence_matrix(c.prec, c.res.stages, "p_holm") < 0.05
    lines += ["For stages A and B: every finished order with A before B is compared with the order "
              "that swaps A and B and keeps every other stage in place, within the same seed. The "
              "cell (row A, column B) is the mean of score(A before B) − score(B before A) "
              "(antisymmetric). Comparisons that share the trained node at A's position (same "
              "seed, same stages before it) form one cluster; the estimate is the mean of cluster "
              "means, the interval an expanded percentile bootstrap over clusters, the p-value a "
              "two-sided sign-flip test over clusters, and Holm's adjustment runs over all pairs. "
              "'*' marks Holm-adjusted p < 0.05.", ""]
    lines += c.figure(figures.heatmap(matrix, c.out / "precedence.png",
                                      "Precedence effect: score(row before column) − score(column before row)",
                                      "points", center=0.0, marks=sig).name,
                      "Precedence effects (points)")
    rows = [{"A": f"`{r.first}`", "B": f"`{r.second}`", "A before B − B before A": _num(r.estimate),
             "95% CI": _ci(r.ci_low, r.ci_high), "p": _p(r.p), "p (Holm)": _p(r.p_holm),
             "matched pairs": r.pairs, "clusters": r.clusters} for r in c.prec.itertuples()]
    lines += _table(rows)
    lines += [f"CSV: `{c.csv(c.prec, 'precedence.csv')}`. With k clusters the smallest attainable p "
              "is 2 / 2^k.", ""]
    return lines


def _position_section(c: _Context) -> list[str]:
    lines = ["## 3. Position effects", ""]
    if c.pos is None or c.pos.empty:
        return lines + ["Needs finished orders with at least two stages (a stage first in one order "
                        "and last in another of the same task set); this file has none yet.", ""]
    lines += ["For each stage T and each task set of two or more stages containing T, within a seed: "
              "the mean score of the set's orders that start with T minus the mean of those that "
              "end with T. Every order starting with T shares the trained node T within a seed, so "
              "the seed is the cluster: estimate = mean over seeds, expanded percentile bootstrap "
              "and sign-flip test over seeds (the smallest attainable p with k seeds is 2 / 2^k).", ""]
    lines += c.figure(figures.effects_figure(c.pos, "task", c.out / "position.png",
                                             "Position effect: score with the stage first − last",
                                             "points").name, "Position effects (points, 95% CI)")
    rows = [{"stage": f"`{r.task}`", "first − last": _num(r.estimate), "95% CI": _ci(r.ci_low, r.ci_high),
             "p": _p(r.p), "p (Holm)": _p(r.p_holm), "task sets": r.task_sets, "seeds": r.clusters}
            for r in c.pos.itertuples()]
    lines += _table(rows)
    lines += [f"CSV: `{c.csv(c.pos, 'position.csv')}`.", ""]
    return lines


def _variance_section(c: _Context) -> list[str]:
    lines = ["## 4. Variance decomposition", ""]
    if c.var is None or c.var["fraction"].isna().any():
        return lines + ["Needs at least two finished (seed, order) scores that differ.", ""]
    lines += ["Nested sums of squares of the (seed, order) scores: between task sets (the unordered "
              "stages; the baseline is the empty set), between orders within a task set, and "
              "between seeds within an order (the residual). Each is a sum of squared deviations "
              "from the mean of the level above, so the three add up to the total sum of squares "
              "exactly, also for unbalanced data; the fraction is SS / SS_total. A fraction is not "
              "a variance component (seed noise alone gives the order level a share near its df "
              "over the total df), so each level is also tested against the next level below: "
              "F = MS / MS_below, the nested-ANOVA F test (it assumes independent seeds and orders; "
              "shared prefixes make it approximate).", ""]
    rows = [{"component": r.component, "df": r.df, "sum of squares": _num(r.sum_sq, 3),
             "fraction": _num(r.fraction, 3), "mean square": _num(r.mean_sq, 3), "F": _num(r.F),
             "p": _p(r.p)} for r in c.var.itertuples()]
    lines += _table(rows)
    notes = []
    if c.var.set_index("component").loc["order within set", "df"] == 0:
        notes.append("no task set has two orders yet, so the order share is 0 by construction")
    if c.var.set_index("component").loc["seed (residual)", "df"] == 0:
        notes.append("one seed per order, so seed noise cannot be separated: the seed share is 0 "
                     "by construction and the order share contains the seed-to-seed noise")
    lines += [f"Note: {'; '.join(notes)}.", ""] if notes else []
    lines += [f"CSV: `{c.csv(c.var, 'variance.csv')}`.", ""]
    return lines


def _target_language_section(c: _Context) -> list[str]:
    lines = ["## 5. Per target and per language", ""]
    order_rows = list(c.shown()["order"])
    targets = load.target_scores(c.res)
    by_target = targets.pivot_table(index="order", columns="target", values="score", aggfunc="mean")
    by_target = by_target.reindex(index=order_rows, columns=[t for t in c.res.targets if t in by_target])
    lines += ["Mean over seeds of each target's task score (rows: orders, best overall first).", ""]
    lines += c.figure(figures.heatmap(by_target, c.out / "order_target.png", "Task score per order and target",
                                      "points").name, "Order × target (mean over seeds)")
    langs = load.language_scores(c.res)
    by_lang = langs.pivot_table(index="order", columns="language", values="score", aggfunc="mean")
    by_lang = by_lang.reindex(index=order_rows)
    lines += ["Mean over seeds and targets of the task score in each language (a language "
              "averages the targets evaluated in it; English is the training language, the others "
              "are zero-shot).", ""]
    lines += c.figure(figures.heatmap(by_lang, c.out / "order_language.png", "Task score per order and language",
                                      "points").name, "Order × language (mean over seeds and targets)")
    c.csv(by_target.reset_index(), "order_target.csv")
    c.csv(by_lang.reset_index(), "order_language.csv")
    return lines + ["CSV: `order_target.csv`, `order_language.csv`.", ""]


def _best_worst_section(c: _Context) -> list[str]:
    s = c.summary
    if len(s) <= 2 * c.top:
        parts = [(f"All {len(s)} orders, best first", s)]
    else:
        parts = [(f"The {c.top} best", s.head(c.top)), (f"The {c.top} worst", s.tail(c.top))]
    lines = ["## 6. Best and worst orders", "", "Orders ranked by mean score (rank 1 = best).", ""]
    for title, part in parts:
        lines += [f"**{title}**", ""]
        lines += _table([{"rank": rank + 1, "order": _order(r.order), "kind": r.kind, "mean": _num(r.mean),
                          "95% CI": _ci(r.ci_low, r.ci_high), "Δ baseline": _num(r.delta),
                          "Δ 95% CI": _ci(r.delta_low, r.delta_high), "seeds": r.seeds}
                         for rank, r in zip(part.index, part.itertuples())])
    return lines


def _sweep_section(c: _Context) -> list[str]:
    lines = ["## 7. How the sweep ran", ""]
    nodes = c.res.nodes
    if not np.isfinite(nodes["start_time"]).any():
        return lines + ["No node has started yet.", ""]
    reuse = load.stage_reuse(c.res)
    done = nodes[nodes["done"]]
    busy = (done["end_time"] - done["start_time"]).sum()
    span = np.nanmax(nodes["end_time"]) - np.nanmin(nodes["start_time"]) if len(done) else np.nan
    ranks = max(1, nodes.loc[nodes["rank"] >= 0, "rank"].nunique())
    stage_nodes = int((nodes["kind"] == load.KIND_STAGE).sum())
    unshared = int(load.order_progress(c.res)["order"].map(lambda o: len(load.order_stages(o))).sum())
    lines += [f"{len(done)} nodes done in {_num(span, 1)} s of wall time on {ranks} rank(s) "
              f"(busy fraction {_num(busy / (span * ranks) if span > 0 else np.nan)}). Prefix "
              f"sharing: the plan trains {stage_nodes} stage nodes where its orders, trained one by "
              f"one, would need {unshared} stage trainings.", ""]
    lines += c.figure(figures.timeline_figure(c.res, reuse, c.out / "timeline.png").name,
                      "Sweep timeline: ranks × wall time, one box per node")
    if (nodes["kind"].eq(load.KIND_STAGE) & nodes["done"]).any():
        lines += c.figure(figures.loss_curves_figure(c.res, c.out / "loss_curves.png").name,
                          "Training loss per stage node")
    else:
        lines += ["No stage node is done yet: no loss curves.", ""]
    return lines


def write_report(res: Results, out_dir, resampling: Resampling = Resampling(), top: int = 10) -> Path:
    """Writes out_dir/report.md with its figures and CSVs; returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scores = load.order_scores(res)
    c = _Context(res=res, out=out, top=top, scores=scores,
                 summary=effects.order_summary(scores, res.mixtures))
    lines = _header(c)
    if scores.empty:
        lines += ["## No finished orders", "",
                  "No (seed, order) has all its targets done yet, so there are no scores to "
                  "analyse; only how the sweep runs is shown.", ""]
    else:
        c.prec = effects.precedence_effects(scores, res.stages, resampling)
        c.pos = effects.position_effects(scores, res.stages, resampling)
        c.var = effects.variance_decomposition(scores)
        lines += _summary_points(c)
        for section in (_order_section, _precedence_section, _position_section, _variance_section,
                        _target_language_section, _best_worst_section):
            lines += section(c)
    lines += _sweep_section(c)
    lines += ["---", f"Resampling: {resampling.bootstrap} bootstrap resamples, up to "
              f"{resampling.permutations} sign flips (exact when 2^clusters is at most that), "
              f"random seed {resampling.seed}. Written by `python3 -m analysis report`.", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
