"""How sure a pooled LOSO metric is: a bootstrap over subjects, and paired comparisons of two runs.

The unit is the **subject**, LOSO's unit: samples of one person are not independent (one model
predicts them all, and a person's expressions look alike), so resampling samples would make
intervals too narrow. A resample draws as many subjects as the run has, with replacement, pools
their samples' predictions, and scores the pool as :func:`mezoo.loso.metrics.scores` does (UF1
and UAR over the classes present in the pool). The interval is the percentile interval of the
resampled scores, from a seeded generator (NumPy's ``default_rng``), so it is reproducible.

A comparison of two runs on the same samples resamples subjects once for both (paired): the
interval is that of the difference. Its p-value is a sign-flip permutation test at the subject
level: under "no difference" each subject's predictions could have come from either run, so each
is swapped between the runs with probability 1/2 and the difference recomputed; ``p = (1 + #{|d*|
>= |d|}) / (1 + resamples)``.

Everything is computed from per-subject confusion matrices, so a thousand resamples take
milliseconds (NumPy; scikit-learn gives the same scores: ``tests/loso/test_stats.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: resamples of a bootstrap or permutation test, its generator's seed and the interval's level
RESAMPLES = 1000
SEED = 0
LEVEL = 0.95


def subject_confusions(y_true: Sequence[int], y_pred: Sequence[int], subjects: Sequence[str],
                       num_classes: int) -> tuple[list[str], np.ndarray]:
    """The subjects (sorted) and each one's confusion matrix ``(S, K, K)``: ``[s, i, j]`` counts
    samples of subject s of class i predicted as j."""
    y_true, y_pred, subjects = np.asarray(y_true), np.asarray(y_pred), np.asarray(subjects)
    names = sorted(set(subjects.tolist()))
    index = {s: i for i, s in enumerate(names)}
    out = np.zeros((len(names), num_classes, num_classes), dtype=np.int64)
    np.add.at(out, ([index[s] for s in subjects.tolist()], y_true, y_pred), 1)
    return names, out


def uf1_uar(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UF1 and UAR of pooled confusion matrices ``(..., K, K)``, over the classes present in each.

    Example:
        >>> uf1, uar = uf1_uar(np.array([[3, 1], [0, 0]]))  # class 1 absent: class 0 alone counts
        >>> round(float(uf1), 4), float(uar)
        (0.8571, 0.75)
    """
    c = np.asarray(confusion, dtype=np.float64)
    tp = np.diagonal(c, axis1=-2, axis2=-1)
    support, predicted = c.sum(-1), c.sum(-2)
    present = support > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
        recall = np.where(present, tp / np.where(present, support, 1), 0.0)
        n = present.sum(-1)
        uf1 = np.where(n > 0, (f1 * present).sum(-1) / np.maximum(n, 1), np.nan)
        uar = np.where(n > 0, recall.sum(-1) / np.maximum(n, 1), np.nan)
    return uf1, uar


def _percentiles(values: np.ndarray, level: float) -> list[float]:
    tail = (1 - level) / 2 * 100
    return [round(float(v), 4) for v in np.nanpercentile(values, [tail, 100 - tail])]


def bootstrap_interval(y_true: Sequence[int], y_pred: Sequence[int], subjects: Sequence[str], num_classes: int,
                       resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> dict[str, Any]:
    """The ``level`` percentile interval of UF1 and UAR over ``resamples`` bootstrap resamples of
    the subjects (module docstring).

    Returns:
        ``{"uf1": [low, high], "uar": [low, high], "level", "resamples", "seed", "subjects"}``.
    """
    _, confusions = subject_confusions(y_true, y_pred, subjects, num_classes)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(confusions), size=(resamples, len(confusions)))
    uf1, uar = uf1_uar(confusions[draws].sum(1))
    return {"uf1": _percentiles(uf1, level), "uar": _percentiles(uar, level), "level": level,
            "resamples": resamples, "seed": seed, "subjects": len(confusions)}


def paired_difference(y_true: Sequence[int], first: Sequence[int], second: Sequence[int], subjects: Sequence[str],
                      num_classes: int, resamples: int = RESAMPLES, seed: int = SEED,
                      level: float = LEVEL) -> dict[str, Any]:
    """``second`` minus ``first`` (two runs' predictions of the same samples) in UF1 and UAR, with a
    paired subject-bootstrap interval and a sign-flip permutation p-value (module docstring).

    Returns:
        ``{"uf1": {"first", "second", "difference", "interval", "p"}, "uar": {...}, "level",
        "resamples", "seed", "subjects"}``.
    """
    _, a = subject_confusions(y_true, first, subjects, num_classes)
    _, b = subject_confusions(y_true, second, subjects, num_classes)
    rng = np.random.default_rng(seed)
    s = len(a)
    draws = rng.integers(0, s, size=(resamples, s))
    boot_a, boot_b = uf1_uar(a[draws].sum(1)), uf1_uar(b[draws].sum(1))
    flips = rng.random((resamples, s)) < 0.5
    delta = (b - a).reshape(s, -1)
    swapped_a = (a.sum(0).reshape(-1) + flips @ delta).reshape(resamples, num_classes, num_classes)
    swapped_b = (b.sum(0).reshape(-1) - flips @ delta).reshape(resamples, num_classes, num_classes)
    perm_a, perm_b = uf1_uar(swapped_a), uf1_uar(swapped_b)
    observed_a, observed_b = uf1_uar(a.sum(0)), uf1_uar(b.sum(0))
    out: dict[str, Any] = {}
    for k, name in enumerate(("uf1", "uar")):
        d = float(observed_b[k] - observed_a[k])
        null = perm_b[k] - perm_a[k]
        p = (1 + int(np.sum(np.abs(null) >= abs(d) - 1e-12))) / (1 + resamples)
        out[name] = {"first": round(float(observed_a[k]), 4), "second": round(float(observed_b[k]), 4),
                     "difference": round(d, 4), "interval": _percentiles(boot_b[k] - boot_a[k], level),
                     "p": round(p, 4)}
    return {**out, "level": level, "resamples": resamples, "seed": seed, "subjects": s}
