"""load.py against the generator's own record of what it wrote (synthetic.Truth)."""

import hashlib

import numpy as np
import pandas as pd
import pytest

import synthetic
from analysis import load

TABLE_COLUMNS = ["seed", "order", "target", "language", "split", "metric", "value"]


def truth_table(truth) -> pd.DataFrame:
    return pd.DataFrame(truth.rows, columns=TABLE_COLUMNS)


def assert_same_rows(table: pd.DataFrame, expected: pd.DataFrame):
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) == len(expected)
    for col in TABLE_COLUMNS[:-1]:
        assert table[col].astype(str).tolist() == expected[col].astype(str).tolist(), col
    np.testing.assert_array_equal(table["value"].to_numpy(), expected["value"].to_numpy())


def test_table_rows_are_the_generated_rows_in_file_order(planted):
    table = load.metric_table(load.load_results(planted.path))
    assert_same_rows(table, truth_table(planted.truth))
    assert (table["order"] == "").any() and table["order"].str.count(">").max() == 2


def test_target_splits_name_the_split_each_target_is_scored_on(planted):
    res = load.load_results(planted.path)
    expected = {t: "+".join(sorted({row[4] for row in planted.truth.rows if row[2] == t}))
                for t in res.targets}
    assert load.target_splits(res) == expected
    assert set(expected.values()) == {"dev", "test"}  # the generator scores one target on dev


def test_running_sweep_keeps_done_nodes_only(running):
    res = load.load_results(running.path)
    assert not res.finished and 0 < res.done.sum() < len(res.nodes)
    table = load.metric_table(res)
    assert_same_rows(table, truth_table(running.truth))
    assert not (table["value"] == synthetic.PENDING_VALUE).any()
    scores = load.target_scores(res)
    expected = {k: v for k, v in running.truth.target_scores.items()}
    assert {(s, o, t): v for s, o, t, v in scores.itertuples(index=False)} == pytest.approx(expected)


def test_order_score_is_the_mean_of_target_scores_and_needs_every_target(running):
    res = load.load_results(running.path)
    by_order = {}
    for (seed, order, target), score in running.truth.target_scores.items():
        by_order.setdefault((seed, order), []).append(score)
    targets = len(running.spec.targets)
    expected = {k: np.mean(v) for k, v in by_order.items() if len(v) == targets}
    assert len(expected) < len(by_order)  # some (seed, order) pairs are incomplete
    got = {(s, o): v for s, o, v, _ in load.order_scores(res).itertuples(index=False)}
    assert got == pytest.approx(expected)


def test_language_scores_follow_task_score_and_average_to_target_score(planted):
    res = load.load_results(planted.path)
    lang = load.language_scores(res)
    assert len(lang) == len(planted.truth.target_scores) * len(planted.spec.languages)
    # QA: (EM + F1) / 2; tagging: f1 (not precision or recall); accuracy as is.
    rows = truth_table(planted.truth).drop(columns="split").set_index(
        [c for c in TABLE_COLUMNS[:-1] if c != "split"])["value"]
    one = lang[(lang["seed"] == 1) & (lang["order"] == "mnli>qqp") & (lang["language"] == "sa")]
    one = one.set_index("target")["score"]

    def value(target, metric):
        return rows[(1, "mnli>qqp", target, "sa", metric)]
    assert one["xquad"] == pytest.approx((value("xquad", "exact_match") + value("xquad", "f1")) / 2)
    assert one["udpos"] == pytest.approx(value("udpos", "f1"))
    assert one["xnli"] == pytest.approx(value("xnli", "accuracy"))
    mean = lang.groupby(["seed", "order", "target"])["score"].mean()
    assert mean.to_dict() == pytest.approx(planted.truth.target_scores)


def test_plan_properties(planted):
    res = load.load_results(planted.path)
    spec = planted.spec
    assert res.stages == list(spec.stages)
    assert res.targets == list(spec.targets)
    assert res.replicates == list(range(spec.replicates))
    assert res.orders == [">".join(o) for o in spec.orders()]
    assert res.sweep_name == "synthetic" and res.finished


def test_stage_reuse_counts_orders_through_each_prefix(planted):
    res = load.load_results(planted.path)
    reuse = load.stage_reuse(res)
    n, spec = res.nodes, planted.spec
    orders_per_seed = len(list(spec.orders()))
    assert reuse[0] == orders_per_seed * spec.replicates  # the root serves every order
    first = n[(n["kind"] == load.KIND_STAGE) & (n["order"] == "mnli")].index
    # "mnli" is itself an order, and the prefix of 4 orders of length 2 and 12 of length 3.
    assert set(reuse[first]) == {1 + 4 + 12}
    leaf = n[(n["kind"] == load.KIND_STAGE) & (n["order"] == "mnli>qqp>cosmosqa")].index
    assert set(reuse[leaf]) == {1}
    assert (reuse[n["kind"] == load.KIND_TARGET] == 0).all()


def test_reading_never_changes_the_file(planted, tmp_path):
    before = hashlib.sha256(planted.path.read_bytes()).hexdigest()
    res = load.load_results(planted.path)
    load.metric_table(res)
    assert hashlib.sha256(planted.path.read_bytes()).hexdigest() == before


def test_mixtures_come_from_the_config_text(make_file):
    f = make_file("mixture", stages=("mnli", "anli_mnli_snli"), lengths=(0, 1), replicates=2,
                  mixtures={"anli_mnli_snli": ["anli", "mnli", "snli"]})
    assert load.load_results(f.path).mixtures == ("anli_mnli_snli",)
