"""One fold per subject, from scikit-learn's LeaveOneGroupOut."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
