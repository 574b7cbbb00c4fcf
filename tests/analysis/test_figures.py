"""Every figure of the report keeps its texts inside the image: titles, axis and tick labels,
legends and cell values, on sweeps of different shapes (many orders, long order labels, few
stages with narrow heatmaps, a single stage)."""

import pytest
from matplotlib.text import Text

from analysis import figures, load
from analysis.effects import Resampling
from analysis.report import write_report

FAST = Resampling(bootstrap=200, permutations=500)

SHAPES = {
    # 5 stages, orders of 0-3 stages: 60 rows of long order labels, 5 x 5 precedence.
    "planted": "planted",
    # 3 stages, orders of 0-2, a running sweep: small heatmaps, not-done nodes in the timeline.
    "running": "running",
    # 2 stages with long names, 1 target, 1 language: one-column heatmaps, a 2 x 2 precedence.
    "narrow": dict(stages=("commonsenseqa", "socialiqa"), lengths=(0, 1, 2), replicates=3,
                   targets={"xnli": ("accuracy", 70.0)}, languages={"en": 8.0},
                   set_effect={"commonsenseqa": 1.0, "socialiqa": -0.5}, precedence={}, position={}),
    # Orders of 4 stages only, 1 target, 1 language: order labels wider than a one-column heatmap.
    "four_stages": dict(stages=("mnli", "squad_v1", "hellaswag", "commonsenseqa"), lengths=(0, 4),
                        replicates=2, targets={"xnli": ("accuracy", 70.0)}, languages={"en": 8.0}),
    # 1 stage: no precedence or position figure, a loss figure with a single panel.
    "one_stage": dict(stages=("commonsenseqa",), lengths=(0, 1), replicates=3,
                      set_effect={"commonsenseqa": 1.0}, precedence={}, position={}),
}


def drawn_texts(fig):
    """The visible, non-empty texts of fig that a drawing shows: tick labels of ticks outside
    their axis' view interval are not drawn (locators propose ticks beyond the limits)."""
    skipped = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            slack = 1e-9 * max(1.0, hi - lo)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not lo - slack <= loc <= hi + slack:
                    skipped |= {tick.label1, tick.label2}
    return [t for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t not in skipped]


def texts_outside(fig):
    """'text' (where it is, px) for each drawn text not wholly inside the figure, drawn at the
    resolution the file is written with."""
    fig.set_dpi(figures.DPI)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box, tol = fig.bbox, 0.5
    out = []
    for t in drawn_texts(fig):
        e = t.get_window_extent(renderer)
        if e.x0 < box.x0 - tol or e.y0 < box.y0 - tol or e.x1 > box.x1 + tol or e.y1 > box.y1 + tol:
            out.append(f"{t.get_text()!r} at x {e.x0:.0f}..{e.x1:.0f}, y {e.y0:.0f}..{e.y1:.0f} "
                       f"of {box.width:.0f} x {box.height:.0f}")
    return out


@pytest.fixture(scope="module", params=sorted(SHAPES))
def report_figures(request, make_file, tmp_path_factory):
    """{png name: texts outside it} for every figure of the report on one sweep shape."""
    shape = SHAPES[request.param]
    if isinstance(shape, str):
        f = request.getfixturevalue(shape)  # a file of conftest.py
    else:
        f = make_file(f"figures_{request.param}", **shape)
    found = {}
    figures.after_save.append(lambda fig, path: found.setdefault(path.name, texts_outside(fig)))
    try:
        write_report(load.load_results(f.path), tmp_path_factory.mktemp("report"), FAST)
    finally:
        figures.after_save.pop()
    return request.param, found


def test_the_report_draws_its_figures(report_figures):
    shape, found = report_figures
    expected = {"order_scores.png", "order_target.png", "order_language.png", "timeline.png",
                "loss_curves.png"}
    if shape != "one_stage":
        expected |= {"precedence.png", "position.png"}
    assert set(found) == expected


def test_every_text_lies_inside_its_figure(report_figures):
    shape, found = report_figures
    assert {name: outside for name, outside in found.items() if outside} == {}, shape
