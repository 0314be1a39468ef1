"""The base classes of classical components: feature extractors and classifiers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np


class FeatureExtractor(ABC):
    """Maps one sample to a feature vector.

    Constructed with the keyword options of its section under ``features`` in the config. ``reads``
    says what :meth:`extract` gets:

    - ``"pair"``: the calibrated onset and apex, ``frames`` of shape ``(2, H, W)``, and the chosen
      displacement provider's onset -> apex displacement ``(C, H, W)`` (a flow in pixels for
      ``farneback`` and ``tvl1``; disk-cached like any deterministic provider's).
    - ``"clip"``: the clip from onset to offset resampled to ``sequence.length`` frames by
      ``sequence.interpolator``, ``frames`` of shape ``(T, H, W)``; ``displacement`` is ``None``.

    Frames are grey (ITU-R 601 luma of the colour canvas), float32 in [0, 1]; ``mask`` ``(H, W)``
    is ``True`` where the calibrated pixel was recorded (``None``: all of it).

    Features are computed once per run for every sample (a fold only fits the classifier) and
    cached on disk per sample (keyed by the extractor's name, options and ``cache_version``, the
    displacement provider's for ``"pair"``, and the content of the frames and mask), so an extractor
    must be deterministic and must not look at labels; change ``cache_version`` when its output
    changes for the same options.
    """

    reads: ClassVar[Literal["pair", "clip"]] = "pair"
    cache_version: ClassVar[str] = "1"

    @abstractmethod
    def extract(self, frames: np.ndarray, displacement: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        """The feature vector ``(F,)`` of one sample; every sample of a run gives the same ``F``."""


class Classifier(ABC):
    """Builds a scikit-learn estimator for one fold.

    Constructed with the keyword options of its section under ``classifier`` in the config;
    :meth:`build` is called once per fold (and per inner model), so every fold starts untrained.
    The estimator needs ``fit(X, y)`` and ``predict(X)``; the report's per-class scores come from its
    ``predict_proba(X)`` or ``decision_function(X)`` (one-hot predictions when it has neither).
    """

    @abstractmethod
    def build(self, class_weight: Literal["balanced"] | None, seed: int) -> Any:
        """An unfitted estimator; ``class_weight`` is ``train.class_weight`` (``balanced`` weights
        classes by the inverse of their count among the fold's training samples), ``seed`` the fold's."""


def class_scores(estimator: Any, features: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class scores ``(N, num_classes)`` that sum to 1: ``predict_proba`` when the estimator has
    it, else the softmax of ``decision_function`` (a linear SVM's margins: an ordering, not a
    calibrated probability), else the predictions one-hot. Classes missing from a fold's training
    samples score 0."""
    classes = np.asarray(estimator.classes_)
    if not hasattr(estimator, "predict_proba") and not hasattr(estimator, "decision_function"):
        scores = (np.asarray(estimator.predict(features))[:, None] == classes[None, :]).astype(np.float64)
    elif hasattr(estimator, "predict_proba"):
        scores = np.asarray(estimator.predict_proba(features), dtype=np.float64)
    else:
        margins = np.asarray(estimator.decision_function(features), dtype=np.float64)
        if margins.ndim == 1:  # two classes: one margin, positive for classes[1]
            margins = np.stack([-margins, margins], axis=1) / 2
        margins = margins - margins.max(axis=1, keepdims=True)
        scores = np.exp(margins)
        scores /= scores.sum(axis=1, keepdims=True)
    out = np.zeros((len(features), num_classes))
    out[:, classes] = scores
    return out
