"""Fixtures of the analysis tests: synthetic results files (synthetic.py) written once per session.

The checkout root goes on sys.path so that `import analysis` works from any working directory
(CTest runs pytest from the checkout root as well).
"""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout: `import analysis`
sys.path.insert(0, str(HERE))             # `import synthetic`

import synthetic  # noqa: E402

# A smaller plan for the tests that only need some orders of length 2 (faster reports).
SMALL = dict(stages=("mnli", "squad_v1", "hellaswag"), lengths=(0, 1, 2), replicates=3,
             set_effect={"mnli": 1.0, "squad_v1": 0.5, "hellaswag": -0.5})


class SyntheticFile:
    def __init__(self, path, spec):
        self.path, self.spec = path, spec
        self.truth = synthetic.write_results(path, spec)


@pytest.fixture(scope="session")
def make_file(tmp_path_factory):
    """make_file(name, **spec fields) -> SyntheticFile, written once per name."""
    made = {}

    def make(name, **fields):
        if name not in made:
            made[name] = SyntheticFile(tmp_path_factory.mktemp("results") / f"{name}.h5",
                                       synthetic.Spec(**fields))
        return made[name]
    return make


@pytest.fixture(scope="session")
def planted(make_file):
    """5 stages, every order of length 0-3, 3 targets, 3 languages, 5 seeds, planted effects."""
    return make_file("planted")


@pytest.fixture(scope="session")
def unplanted(make_file):
    """The same plan and noise with no precedence or position effect."""
    return make_file("unplanted", precedence={}, position={})


@pytest.fixture(scope="session")
def running(make_file):
    """A running sweep: the last 25 nodes (target leaves of the last seed) are not done, one of
    its orders has some targets done and some not."""
    nodes = len(synthetic.plan(synthetic.Spec(**SMALL)))
    return make_file("running", **SMALL, done_nodes=nodes - 25)
