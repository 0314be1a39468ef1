"""Subject-bootstrap intervals and paired comparisons (mezoo/loso/stats.py)."""

import numpy as np
import pytest

from mezoo.loso.metrics import scores
from mezoo.loso.stats import bootstrap_interval, paired_difference, subject_confusions, uf1_uar


def _run(seed: int, n: int = 300, subjects: int = 30, right: float = 0.7):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, n)
    y_pred = np.where(rng.random(n) < right, y_true, rng.integers(0, 3, n))
    return y_true, y_pred, rng.choice([f"d/s{i:02d}" for i in range(subjects)], n)


@pytest.mark.parametrize("seed", range(20))
def test_scores_from_confusions_are_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    y_true, y_pred, subjects = _run(seed, n=n, subjects=4)
    y_true[: n // 3] = 0  # often a class is missing from a subject, or from all
    _, confusions = subject_confusions(y_true, y_pred, subjects, 3)
    uf1, uar = uf1_uar(confusions.sum(0))
    expected = scores(y_true, y_pred, 3)
    assert uf1 == pytest.approx(expected["uf1"], abs=1e-12) and uar == pytest.approx(expected["uar"], abs=1e-12)


def test_the_interval_is_reproducible_and_holds_the_estimate():
    y_true, y_pred, subjects = _run(0)
    a = bootstrap_interval(y_true, y_pred, subjects, 3)
    assert a == bootstrap_interval(y_true, y_pred, subjects, 3)  # seeded
    assert a != bootstrap_interval(y_true, y_pred, subjects, 3, seed=1)
    point = scores(y_true, y_pred, 3)
    assert a["uf1"][0] < point["uf1"] < a["uf1"][1] and a["uar"][0] < point["uar"] < a["uar"][1]
    assert (a["subjects"], a["resamples"], a["level"]) == (30, 1000, 0.95)


def test_subjects_not_samples_are_the_unit():
    """Each subject's samples share its luck: all right or all wrong. Resampling samples would give a
    narrow interval; resampling subjects gives the width of 10 coin flips."""
    subjects = np.repeat([f"s{i}" for i in range(10)], 20)
    y_true = np.tile([0, 1], 100)
    right = np.repeat(np.arange(10) % 2 == 0, 20)
    y_pred = np.where(right, y_true, 1 - y_true)
    low, high = bootstrap_interval(y_true, y_pred, subjects, 2)["uar"]
    assert high - low > 0.4


def test_a_run_against_itself_differs_by_nothing_and_a_worse_one_is_found():
    y_true, y_pred, subjects = _run(3, n=400, subjects=40)
    same = paired_difference(y_true, y_pred, y_pred, subjects, 3)
    assert same["uf1"]["difference"] == 0 and same["uf1"]["interval"] == [0.0, 0.0] and same["uf1"]["p"] == 1.0
    rng = np.random.default_rng(9)
    worse = np.where(rng.random(len(y_pred)) < 0.3, rng.integers(0, 3, len(y_pred)), y_pred)
    d = paired_difference(y_true, y_pred, worse, subjects, 3)
    assert d["uf1"]["difference"] < 0 and d["uf1"]["interval"][1] < 0 and d["uf1"]["p"] < 0.01
    assert d["uf1"]["first"] == pytest.approx(scores(y_true, y_pred, 3)["uf1"], abs=1e-4)


def test_two_runs_that_differ_by_chance_are_not_called_different():
    y_true, first, subjects = _run(4)
    rng = np.random.default_rng(5)
    # the second run flips a few predictions each way: as good, not the same
    second = np.where(rng.random(len(first)) < 0.08, rng.integers(0, 3, len(first)), first)
    second = np.where(rng.random(len(first)) < 0.04, y_true, second)
    d = paired_difference(y_true, first, second, subjects, 3)
    assert d["uf1"]["interval"][0] < 0 < d["uf1"]["interval"][1] or abs(d["uf1"]["difference"]) < 0.02
    assert d["uf1"]["p"] > 0.05
