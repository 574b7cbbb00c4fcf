"""`python3 -m analysis`: table and report on synthetic files, bad input, degraded data."""

import csv
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from analysis import load
from analysis.__main__ import main
from analysis.effects import Resampling
from analysis.report import write_report

ROOT = Path(__file__).resolve().parents[2]
FAST = Resampling(bootstrap=500, permutations=2000)


def run(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def report(f, out) -> str:
    path = write_report(load.load_results(f.path), out, FAST)
    assert path == out / "report.md"
    text = path.read_text()
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (out / image).stat().st_size > 1000, image
    return text


def test_table_cli_writes_the_generated_rows(planted, tmp_path):
    out = tmp_path / "t.csv"
    r = run("table", planted.path, "--out", out)
    assert r.returncode == 0, r.stderr
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["seed", "order", "target", "language", "split", "metric", "value"]
    assert len(rows) - 1 == len(planted.truth.rows)
    for got, want in zip(rows[1:], planted.truth.rows):
        assert got[:6] == [str(x) for x in want[:6]]
        assert float(got[6]) == want[6]  # %.17g round-trips exactly


def test_report_cli_answers_every_section_and_leaves_the_file_alone(planted, tmp_path):
    before = hashlib.sha256(planted.path.read_bytes()).hexdigest()
    out = tmp_path / "rep"
    r = run("report", planted.path, "--out", out, "--bootstrap", 500, "--permutations", 2000)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out / "report.md")
    text = (out / "report.md").read_text()
    for heading in ("XTREME-R score per order", "Pairwise precedence effects", "Position effects",
                    "Variance decomposition", "Per target and per language", "Best and worst orders",
                    "How the sweep ran"):
        assert heading in text
    for png in ("order_scores", "precedence", "position", "order_target", "order_language",
                "timeline", "loss_curves"):
        assert f"]({png}.png)" in text and (out / f"{png}.png").exists()
    assert "The sweep is **finished**" in text and "not finished" not in text
    assert "`mnli` before `squad_v1` +" in text  # the planted precedence is called significant
    assert "| targets (split scored) | xnli (dev), xquad (test), udpos (test) |" in text
    assert hashlib.sha256(planted.path.read_bytes()).hexdigest() == before


def test_report_on_a_running_sweep_says_so_and_lists_every_finished_order(running, tmp_path):
    text = report(running, tmp_path)
    assert "The sweep is not finished" in text
    finished = load.order_scores(load.load_results(running.path))["order"].unique()
    for order in finished:
        assert (f"`{order}`" if order else "(baseline)") in text


@pytest.mark.parametrize("name,fields,note", [
    ("short", dict(lengths=(0, 1), replicates=2), "Needs finished orders with at least two stages"),
    ("one_seed", dict(stages=("mnli", "squad_v1"), lengths=(0, 1, 2), replicates=1),
     "Only one seed per order"),
    ("nothing_done", dict(stages=("mnli", "squad_v1"), lengths=(0, 1), replicates=1, done_nodes=0),
     "No node has started yet"),
    ("root_done", dict(stages=("mnli", "squad_v1"), lengths=(0, 1), replicates=1, done_nodes=1),
     "No (seed, order) has all its targets done yet"),
    # root, 2 stage nodes, then the 3 baseline leaves: one (seed, order) score.
    ("baseline_only", dict(stages=("mnli", "squad_v1"), lengths=(0, 1), replicates=1, done_nodes=6),
     "Needs at least two finished (seed, order) scores"),
])
def test_report_degrades_to_notes(make_file, tmp_path, name, fields, note):
    text = report(make_file(name, **fields), tmp_path)
    assert note in text
    assert "nan" not in text.lower()


def test_report_compares_mixture_orders(make_file, tmp_path):
    f = make_file("mixture", stages=("mnli", "anli_mnli_snli"), lengths=(0, 1), replicates=2,
                  mixtures={"anli_mnli_snli": ["anli", "mnli", "snli"]})
    text = report(f, tmp_path)
    assert "mixture stages | anli_mnli_snli" in text
    assert "| `anli_mnli_snli` | mixture |" in text


def bad_input_cases(tmp_path, planted):
    text = tmp_path / "notes.txt"
    text.write_text("not hdf5\n")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    missing_dataset = tmp_path / "partial.h5"
    missing_dataset.write_bytes(planted.path.read_bytes())
    with h5py.File(missing_dataset, "a") as f:
        del f["metrics/target_score"]
    return [(tmp_path / "absent.h5", "no such results file"),
            (tmp_path, "expected an ordertune results file"),
            (text, "expected an ordertune results file (HDF5)"),
            (foreign, "created_by"),
            (missing_dataset, "expected dataset /metrics/target_score")]


@pytest.mark.parametrize("command", ["table", "report"])
def test_bad_input_is_one_line_and_exit_2(planted, tmp_path, capsys, command):
    for path, expected in bad_input_cases(tmp_path, planted):
        assert main([command, str(path), "--out", str(tmp_path / "out")]) == 2, path
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], captured.err
        assert captured.out == ""
        assert not (tmp_path / "out").exists()


def test_bad_input_exit_status_of_the_process(tmp_path):
    r = run("report", tmp_path / "absent.h5", "--out", tmp_path / "out")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"analysis: {tmp_path / 'absent.h5'}: no such results file\n"


def test_help_names_both_commands():
    r = run("--help")
    assert r.returncode == 0 and "table" in r.stdout and "report" in r.stdout
