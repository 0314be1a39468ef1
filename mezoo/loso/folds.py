"""One fold per subject (scikit-learn's LeaveOneGroupOut) and what a fold's job gives back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut


@dataclass(frozen=True)
class Fold:
    """The test subject (a LOSO group such as ``casme2/sub01``) and the sample indices of each side."""

    subject: str
    train: np.ndarray
    test: np.ndarray

    @property
    def slug(self) -> str:
        """The subject as a file name: ``casme2/sub01`` -> ``casme2__sub01``."""
        return self.subject.replace("/", "__")


def loso_folds(groups: Sequence[str]) -> list[Fold]:
    """Leave-one-subject-out folds over ``groups`` (one entry per sample), in sorted subject order."""
    groups = np.asarray(groups)
    folds = []
    for train, test in LeaveOneGroupOut().split(np.zeros(len(groups)), groups=groups):
        folds.append(Fold(subject=str(groups[test[0]]), train=train, test=test))
    return sorted(folds, key=lambda f: f.subject)


@dataclass
class FoldResult:
    """What one fold's job gives back: the test subject's predictions, the training losses, the
    seconds it took, the fusion weights on the test subject (Fu-B-Attn heads; else empty) and, when
    ``run.checkpoints`` is on, the trained weights as safetensors bytes (they travel back to the
    process that writes the run directory, so workers need no shared filesystem)."""

    subject: str
    keys: list[str]
    y_pred: list[int]
    probs: list[list[float]]
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    fusion_weights: dict[str, Any] = field(default_factory=dict)
    checkpoint: bytes | None = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        """The fold file's content (``folds/<subject>.json``, less the fingerprint the run directory adds)."""
        out = {"subject": self.subject, "keys": self.keys, "y_pred": self.y_pred, "probs": self.probs,
               "train_loss": self.train_loss, "seconds": self.seconds}
        if self.fusion_weights:
            out["fusion_weights"] = self.fusion_weights
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FoldResult:
        """A fold file's content read back (checked by :meth:`mezoo.loso.rundir.RunDir.finished`)."""
        return cls(subject=record["subject"], keys=record["keys"], y_pred=record["y_pred"], probs=record["probs"],
                   train_loss=record.get("train_loss", []), seconds=float(record.get("seconds", 0.0)),
                   fusion_weights=record.get("fusion_weights", {}))
