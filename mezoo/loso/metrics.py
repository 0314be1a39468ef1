"""UF1, UAR, accuracy and the confusion matrix of pooled predictions (MEGC2019 protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score


def scores(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> dict[str, Any]:
    """Metrics over predictions pooled from all folds.

    UF1 is the mean over classes of the per-class F1 (2TP / (2TP + FP + FN)); UAR the mean
    per-class recall. Both average over the classes present in ``y_true``: a class with no
    sample in the evaluated set (a part of the composite, say) has no recall and is left out,
    while wrong predictions of it still count against the true class.

    Returns:
        ``{"uf1", "uar", "accuracy", "n", "confusion"}``; ``confusion[i][j]`` counts samples of
        class i predicted as j, over all ``num_classes``.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    present = sorted(set(y_true.tolist()))
    return {
        "uf1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "uar": float(recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "n": int(len(y_true)),
        "confusion": confusion_matrix(y_true, y_pred, labels=list(range(num_classes))).tolist(),
    }
