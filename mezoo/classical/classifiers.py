"""The built-in classifier of classical baselines: a linear SVM (scikit-learn's ``LinearSVC``), the
classifier of LBP-TOP's and Bi-WOOF's published results."""

from __future__ import annotations

from typing import Any, Literal

from mezoo.classical.base import Classifier


class LinearSVM(Classifier):
    """A one-vs-rest linear SVM on the features, standardised by the fold's training samples.

    Args:
        C: the SVM's regularisation (larger: fits the training samples closer; scikit-learn's 1.0).
        standardize: scale each feature to zero mean and unit variance over the fold's training
            samples first (the scaler is fitted inside the fold, never on its test subject).
        max_iter: the solver's iteration limit.

    Per-class scores in the report are the softmax of the SVM's margins (an ordering, not a
    calibrated probability); predictions are the largest margin's class.
    """

    def __init__(self, C: float = 1.0, standardize: bool = True, max_iter: int = 10000):
        from mezoo.errors import ConfigError

        if not C > 0:
            raise ConfigError(f"classifier.linear_svm.C is {C}; give a number above 0 (scikit-learn's 1.0)")
        if max_iter < 1:
            raise ConfigError(f"classifier.linear_svm.max_iter is {max_iter}; give at least 1")
        self.C, self.standardize, self.max_iter = float(C), bool(standardize), int(max_iter)

    def build(self, class_weight: Literal["balanced"] | None, seed: int) -> Any:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        svm = LinearSVC(C=self.C, class_weight=class_weight, max_iter=self.max_iter, random_state=seed, dual="auto")
        return make_pipeline(StandardScaler(), svm) if self.standardize else svm
