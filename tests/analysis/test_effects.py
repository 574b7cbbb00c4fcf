"""effects.py: the planted effects of synthetic.py are recovered; the statistics on small hand
examples."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import effects, load

RESAMPLING = effects.Resampling()


def scores_of(f):
    return load.order_scores(load.load_results(f.path))


@pytest.fixture(scope="module")
def planted_scores(planted):
    return scores_of(planted)


@pytest.fixture(scope="module")
def precedence(planted, planted_scores):
    table = effects.precedence_effects(planted_scores, planted.spec.stages, RESAMPLING)
    return table.set_index(["first", "second"])


def test_planted_precedence_effect_is_recovered(precedence):
    e = precedence.loc[("mnli", "squad_v1")]  # planted: mnli before squad_v1 adds 2.0 points
    assert e["estimate"] == pytest.approx(2.0, abs=0.3)
    assert e["ci_low"] <= 2.0 <= e["ci_high"]
    assert e["p"] < 0.01 and e["p_holm"] < 0.01
    # Matched swaps: mnli>squad_v1 and, per other stage x, mnli>squad_v1>x, mnli>x>squad_v1,
    # x>mnli>squad_v1: 1 + 3 * 3 = 10 per seed; clusters: "" and each of the 3 x, per seed.
    assert e["pairs"] == 10 * 5 and e["clusters"] == 4 * 5


def test_pair_without_planted_effect_has_an_interval_containing_zero(precedence):
    # Swapping cosmosqa and qqp moves neither mnli against squad_v1 nor hellaswag: no effect.
    e = precedence.loc[("cosmosqa", "qqp")]
    assert e["ci_low"] <= 0.0 <= e["ci_high"]
    assert e["p"] > 0.05


def test_precedence_matrix_is_antisymmetric(planted, precedence):
    m = effects.precedence_matrix(precedence.reset_index(), planted.spec.stages)
    assert m.loc["mnli", "squad_v1"] == pytest.approx(-m.loc["squad_v1", "mnli"])
    assert np.isnan(np.diag(m.to_numpy())).all()


def test_precedence_is_exact_without_noise(make_file):
    f = make_file("noiseless", node_sd=0.0, leaf_sd=0.0, language_sd=0.0)
    e = effects.precedence_effects(scores_of(f), f.spec.stages, RESAMPLING).set_index(["first", "second"])
    assert e.loc[("mnli", "squad_v1"), "estimate"] == pytest.approx(2.0, abs=1e-9)
    assert e.loc[("cosmosqa", "qqp"), "estimate"] == pytest.approx(0.0, abs=1e-9)
    pos = effects.position_effects(scores_of(f), f.spec.stages, RESAMPLING).set_index("task")
    assert pos.loc["hellaswag", "estimate"] == pytest.approx(1.5, abs=1e-9)


def test_planted_position_effect_is_recovered(planted, planted_scores):
    pos = effects.position_effects(planted_scores, planted.spec.stages, RESAMPLING).set_index("task")
    e = pos.loc["hellaswag"]  # planted: +0.75 first, -0.75 last
    assert e["estimate"] == pytest.approx(1.5, abs=0.3)
    assert e["ci_low"] > 0
    # The seed is the cluster (5 seeds): all five positive gives the smallest two-sided p, 2/2^5.
    assert e["clusters"] == 5 and e["p"] == pytest.approx(2 / 2 ** 5)
    # Task sets of 2 or 3 stages containing hellaswag: 4 + 6.
    assert e["task_sets"] == 10


def test_variance_decomposition_adds_up_and_sees_the_order_effects(planted_scores, unplanted):
    with_effects = effects.variance_decomposition(planted_scores).set_index("component")
    without = effects.variance_decomposition(scores_of(unplanted)).set_index("component")
    for v in (with_effects, without):
        assert v["fraction"].sum() == pytest.approx(1.0, abs=1e-12)
        y = planted_scores["score"] if v is with_effects else scores_of(unplanted)["score"]
        assert v["sum_sq"].sum() == pytest.approx(((y - y.mean()) ** 2).sum())
    assert with_effects.loc["order within set", "fraction"] > 2 * without.loc["order within set", "fraction"]
    # 5 stages, lengths 0-3: 1 + 5 + 10 + 10 task sets, 86 orders, 5 seeds.
    assert with_effects["df"].tolist() == [26 - 1, 86 - 26, 86 * 5 - 86]
    assert with_effects.loc["order within set", "p"] < 1e-6  # tested against the seed level


def test_variance_decomposition_by_hand():
    scores = pd.DataFrame({"seed": [0, 1, 0, 1, 0, 1], "order": ["", "", "a>b", "a>b", "b>a", "b>a"],
                           "score": [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]})
    v = effects.variance_decomposition(scores).set_index("component")["sum_sq"]
    # mean 6; sets {} (mean 2) and {a,b} (mean 8): 2*16 + 4*4 = 48; orders 6 and 10 around 8: 4*4 = 16;
    # seeds: 6 values at distance 1 from their order's mean: 6.
    assert v.tolist() == pytest.approx([48.0, 16.0, 6.0])
    # F: set 48/1 against order 16/1 = 3 on (1, 1) df; order 16/1 against seed 6/3 = 8 on (1, 3).
    f = effects.variance_decomposition(scores).set_index("component")
    assert f["F"].iloc[:2].tolist() == pytest.approx([3.0, 8.0])
    assert f.loc["order within set", "p"] == pytest.approx(stats.f.sf(8.0, 1, 3))


def test_t_interval_by_hand():
    mean, low, high = effects.t_interval([1.0, 2.0, 3.0, 6.0])
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 6], ddof=1) / 2
    assert (mean, low, high) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    assert np.isnan(effects.t_interval([1.0])[1])


def test_sign_flip_p_is_exact_for_few_clusters():
    rng = np.random.default_rng(0)
    e = effects.paired_effect([1.0, 2.0, 3.0], ["a", "b", "c"], RESAMPLING, rng)
    assert e.p == pytest.approx(2 / 8)  # only all-positive and all-negative reach |mean| = 2
    e = effects.paired_effect([1.0, -1.0, 2.0, 4.0], ["a", "b", "c", "c"], RESAMPLING, rng)
    # Cluster means 1, -1, 3 (c's two differences count once): estimate 1; p = the share of the
    # 8 sign patterns whose |mean| reaches 1.
    means = np.array([1.0, -1.0, 3.0])
    flips = [abs(np.dot(s, means)) / 3 for s in itertools.product([-1, 1], repeat=3)]
    assert e.estimate == pytest.approx(1.0)
    assert e.p == pytest.approx(np.mean(np.array(flips) >= 1.0 - 1e-12))
    assert e.pairs == 4 and e.clusters == 3


def test_holm_by_hand():
    adjusted = effects.holm([0.01, 0.04, np.nan, 0.03])
    # sorted 0.01, 0.03, 0.04 with m = 3: 0.03, max(0.03, 0.06), max(0.06, 0.04)
    assert adjusted[[0, 3, 1]] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[2])


def test_orders_shorter_than_two_give_empty_effect_tables(make_file):
    f = make_file("short", lengths=(0, 1), replicates=2)
    s = scores_of(f)
    assert effects.precedence_effects(s, f.spec.stages, RESAMPLING).empty
    assert effects.position_effects(s, f.spec.stages, RESAMPLING).empty
    v = effects.variance_decomposition(s).set_index("component")
    assert v.loc["order within set", "df"] == 0 and v.loc["order within set", "sum_sq"] == 0


def test_order_summary_pairs_each_order_with_the_baseline_by_seed(planted_scores):
    summary = effects.order_summary(planted_scores).set_index("order")
    by = planted_scores.pivot(index="seed", columns="order", values="score")
    d = by["mnli>squad_v1"] - by[""]
    assert summary.loc["mnli>squad_v1", "delta"] == pytest.approx(d.mean())
    assert summary.loc["mnli>squad_v1", "seeds"] == 5
    assert summary.loc["", "kind"] == "baseline" and summary.loc["mnli", "kind"] == "single"
    assert summary["mean"].is_monotonic_decreasing
