"""Figures of the report: matplotlib with the Agg backend (no display), one PNG per function.

Each function takes tidy tables (load.py, effects.py), writes `path` and returns it; none
computes statistics, so every number in a figure is also in a table of the report.
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.load import KIND_NAMES, KIND_ROOT, KIND_STAGE, KIND_TARGET, Results  # noqa: E402

KIND_COLORS = {"baseline": "black", "single": "tab:blue", "sequence": "tab:green",
               "mixture": "tab:orange"}
NODE_COLORS = {KIND_ROOT: "tab:gray", KIND_STAGE: "tab:blue", KIND_TARGET: "tab:orange"}
DPI = 110

# Each is called as hook(fig, path) after a figure is written and before it is closed, so that a
# test can inspect the figure as it was drawn (tests/analysis/test_figures.py).
after_save: list = []


def _label(order: str) -> str:
    return order or "(baseline)"


def _labels_inches(fig, labels) -> tuple[float, float]:
    """(widest, tallest) of `labels` (tick label Texts, rotated as set) as drawn, in inches: the
    figures size themselves to their labels, as order names grow with the stages of an order and
    a figure too small for its labels has them cut off (tight_layout cannot make room)."""
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    return (max((b.width for b in boxes), default=0.0) / fig.dpi,
            max((b.height for b in boxes), default=0.0) / fig.dpi)


def _wrap(title, text: str, width: float, renderer) -> None:
    """Sets `title` to `text` broken at spaces into the fewest lines whose widest, as drawn, is at
    most `width` pixels (a single word wider than that stays whole)."""
    for chars in range(len(text), 0, -1):
        title.set_text("\n".join(textwrap.wrap(text, chars, break_long_words=False)) or text)
        if title.get_window_extent(renderer).width <= width:
            return


def _layout(fig) -> None:
    """tight_layout with the titles wrapped so that each lies inside the figure. A title that is
    wider than the figure is cut off (tight_layout makes room for labels, not for a title that no
    margin can hold); an axes title is centred on its axes, so it may use twice the distance from
    the axes' centre to the nearer figure edge. Wrapping changes a title's height and the layout
    moves the axes, so the two alternate until the wrapping settles."""
    # Figure.get_suptitle() arrives in matplotlib 3.8; Debian 12 has 3.6.
    suptitle = getattr(fig, "_suptitle", None)
    titles = [(t, t.get_text()) for t in [suptitle] + [ax.title for ax in fig.axes]
              if t is not None and t.get_text()]
    margin = 4 / 72 * fig.dpi  # 4 points clear of the edge
    for _ in range(4):
        renderer = fig.canvas.get_renderer()
        before = [t.get_text() for t, _ in titles]
        for title, text in titles:
            if title is suptitle:
                width = fig.bbox.width
            else:
                centre = title.axes.get_position().x0 + title.axes.get_position().width / 2
                width = 2 * min(centre, 1 - centre) * fig.bbox.width
            _wrap(title, text, width - 2 * margin, renderer)
        fig.tight_layout()
        if [t.get_text() for t, _ in titles] == before:
            break


def _save(fig, path):
    _layout(fig)
    fig.savefig(path, dpi=DPI)
    for hook in after_save:
        hook(fig, path)
    plt.close(fig)
    return path


def order_scores_figure(summary: pd.DataFrame, scores: pd.DataFrame, path):
    """Overall score per order: seeds as dots, mean and t interval as a bar, best at the top;
    the baseline's mean and interval as a vertical line and band."""
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.28 * len(summary)))
    y = np.arange(len(summary))[::-1]
    base = summary[summary["kind"] == "baseline"]
    if len(base):
        b = base.iloc[0]
        ax.axvline(b["mean"], color="black", lw=1, ls="--", label="baseline mean")
        if np.isfinite(b["ci_low"]):
            ax.axvspan(b["ci_low"], b["ci_high"], color="black", alpha=0.08)
    for yi, row in zip(y, summary.itertuples()):
        seeds = scores.loc[scores["order"] == row.order, "score"]
        ax.plot(seeds, np.full(len(seeds), yi), "o", ms=3, color="0.6", zorder=2)
        err = None if not np.isfinite(row.ci_low) else [[row.mean - row.ci_low], [row.ci_high - row.mean]]
        ax.errorbar(row.mean, yi, xerr=err, fmt="D", ms=5, capsize=3, color=KIND_COLORS[row.kind], zorder=3)
    for kind, color in KIND_COLORS.items():
        if (summary["kind"] == kind).any():
            ax.plot([], [], "D", color=color, label=kind)
    ax.set_yticks(y, [_label(o) for o in summary["order"]], fontsize=8)
    fig.set_figwidth(max(8.0, _labels_inches(fig, ax.get_yticklabels())[0] + 5.5))
    ax.set_ylim(-0.7, len(summary) - 0.3)
    ax.set_xlabel("XTREME-R score (mean of target task scores, points)")
    ax.set_title("Score per order: seeds (grey), mean and 95% t interval")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def heatmap(table: pd.DataFrame, path, title: str, colorbar: str, center: float | None = None,
            marks: pd.DataFrame | None = None):
    """A labelled heatmap of a DataFrame (rows x columns), values written in the cells when they
    fit; `center` uses a diverging map symmetric about it; `marks` (same shape, bool) adds '*'."""
    values = table.to_numpy(dtype=float)
    rows, cols = values.shape
    # The colour bar in a column of its own, so that tight_layout makes room for its ticks and
    # label (it did not for a bar that fig.colorbar(ax=ax) takes from the heatmap's axes: cut off).
    fig, (ax, bar) = plt.subplots(1, 2, gridspec_kw={"width_ratios": [0.75 * cols, 0.15]})
    finite = values[np.isfinite(values)]
    if center is None:
        im = ax.imshow(values, aspect="auto", cmap="viridis")
    else:
        span = max(float(np.abs(finite - center).max()) if finite.size else 1.0, 1e-9)
        im = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=center - span, vmax=center + span)
    if rows * cols <= 600:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                star = "*" if marks is not None and bool(marks.iat[i, j]) else ""
                ax.text(j, i, f"{v:.2f}{star}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(cols), [str(c) for c in table.columns], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(rows), [_label(str(r)) for r in table.index], fontsize=8)
    # Cells of about 0.75 x 0.3 inches beside the row labels and above the column labels; the
    # colour bar with its ticks and label and the margins take about 1.6 inches.
    row_labels, _ = _labels_inches(fig, ax.get_yticklabels())
    _, column_labels = _labels_inches(fig, ax.get_xticklabels())
    fig.set_size_inches(max(2.5, row_labels + 1.6) + 0.75 * cols, max(1.5, column_labels + 1.0) + 0.3 * rows)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, cax=bar, label=colorbar)
    return _save(fig, path)


def effects_figure(table: pd.DataFrame, label: str, path, title: str, xlabel: str):
    """Forest plot: one row per effect with its estimate and interval."""
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * len(table)))
    y = np.arange(len(table))[::-1]
    low = (table["estimate"] - table["ci_low"]).fillna(0)
    high = (table["ci_high"] - table["estimate"]).fillna(0)
    ax.errorbar(table["estimate"], y, xerr=[low, high], fmt="o", capsize=3, color="tab:blue")
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, table[label], fontsize=8)
    fig.set_figwidth(max(7.0, _labels_inches(fig, ax.get_yticklabels())[0] + 5.0))
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def timeline_figure(res: Results, reuse: pd.Series, path):
    """Ranks x wall time, one box per started node coloured by kind. Stage boxes are darker the
    more orders reuse them (prefix sharing) and labelled xK when wide enough; started nodes
    without a done mark (running, or interrupted) are hatched up to the latest time in the file."""
    n = res.nodes[np.isfinite(res.nodes["start_time"])]
    fig, ax = plt.subplots(figsize=(11, 1.5 + 0.5 * max(1, n["rank"].nunique())))
    t0 = n["start_time"].min()
    now = np.nanmax(np.concatenate([n["end_time"].to_numpy(), n["start_time"].to_numpy()])) - t0
    span = max(now, 1e-9)
    start = (n["start_time"] - t0).to_numpy()
    width = np.maximum(np.where(n["done"], n["end_time"] - t0, now) - start, span * 1e-3)
    kind, rank, done = n["kind"].to_numpy(), n["rank"].to_numpy(), n["done"].to_numpy()
    share = reuse.loc[n.index].to_numpy()
    alpha = np.where(kind == KIND_STAGE, 0.35 + 0.65 * share / max(1, share.max()), 0.8)
    colors = [to_rgba(NODE_COLORS[k], a) for k, a in zip(kind, alpha)]
    boxes = [[(x, r - 0.4), (x + w, r - 0.4), (x + w, r + 0.4), (x, r + 0.4)]
             for x, w, r in zip(start, width, rank)]
    ax.add_collection(PolyCollection([b for b, d in zip(boxes, done) if d],
                                     facecolors=[c for c, d in zip(colors, done) if d],
                                     edgecolors="white", linewidths=0.3))
    if not done.all():
        ax.add_collection(PolyCollection([b for b, d in zip(boxes, done) if not d], facecolors="none",
                                         edgecolors="tab:red", hatch="///", linewidths=0.6))
    labelled = np.flatnonzero((kind == KIND_STAGE) & (width > 0.03 * span))
    for i in labelled[:200]:  # beyond a few hundred labels nothing is readable
        ax.text(start[i] + width[i] / 2, rank[i], f"x{share[i]}", ha="center", va="center", fontsize=6)
    ax.set_xlim(0, span * 1.01)
    ax.set_ylim(rank.min() - 0.6, rank.max() + 0.6)
    legend = [Patch(color=color, label=KIND_NAMES[k]) for k, color in NODE_COLORS.items()]
    if not done.all():
        legend.append(Patch(facecolor="none", edgecolor="tab:red", hatch="///", label="not done"))
    ax.set_yticks(sorted(set(rank)))
    ax.set_ylabel("rank")
    ax.set_xlabel("wall time since the first start (s)")
    ax.set_title("Sweep timeline (stage boxes: xK = orders reusing the prefix; darker = more)", fontsize=10)
    ax.legend(handles=legend, fontsize=7, loc="upper right", ncol=4)
    return _save(fig, path)


def loss_curves_figure(res: Results, path):
    """Training loss per optimizer step of every done stage node, one panel per stage, coloured by
    the stage's position in its order."""
    n = res.nodes
    stages = n[(n["kind"] == KIND_STAGE) & n["done"]]
    names = list(dict.fromkeys(stages["task"]))
    cols = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    cmap = plt.get_cmap("viridis")
    depth = stages["order"].str.count(">") + 1
    deepest = max(1, int(depth.max())) if len(stages) else 1
    for ax, name in zip(axes.flat, names):
        for node, d in zip(stages.index[stages["task"] == name], depth[stages["task"] == name]):
            ax.plot(res.loss_curve(node), lw=0.8, alpha=0.7, color=cmap((d - 1) / max(1, deepest - 1)))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    for d in range(1, deepest + 1):
        axes.flat[0].plot([], [], color=cmap((d - 1) / max(1, deepest - 1)), label=f"position {d}")
    if names:
        axes.flat[0].legend(fontsize=7)
    fig.suptitle("Training loss of each stage node, by the stage's position in its order", fontsize=10)
    return _save(fig, path)
