"""The linear SVM: fitted inside a fold, per-class scores that sum to 1 (zero for a class the fold's
training samples lack), two classes, bad options in one line."""

import numpy as np
import pytest

from mezoo import plugins
from mezoo.classical.base import class_scores
from mezoo.errors import ConfigError


def _blobs(classes, n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(3 * c, 0.5, size=(n, 4)) for c in classes])
    return x, np.repeat(classes, n)


def test_linear_svm_separates_and_scores():
    x, y = _blobs([0, 1, 2])
    svm = plugins.make("classifier", "linear_svm").build("balanced", seed=1)
    svm.fit(x, y)
    assert (svm.predict(x) == y).mean() > 0.95
    scores = class_scores(svm, x, 3)
    assert scores.shape == (60, 3) and np.allclose(scores.sum(1), 1.0)
    assert (scores.argmax(1) == svm.predict(x)).all()


def test_a_class_missing_from_training_scores_zero():
    x, y = _blobs([0, 2])  # class 1 of 3 never seen (a fold whose training subjects lack it)
    svm = plugins.make("classifier", "linear_svm", standardize=False).build(None, seed=0).fit(x, y)
    scores = class_scores(svm, x, 3)
    assert np.all(scores[:, 1] == 0) and np.allclose(scores.sum(1), 1.0)
    assert (scores.argmax(1) == y).mean() > 0.95


@pytest.mark.parametrize("options, message", [
    ({"C": 0}, "classifier.linear_svm.C is 0"),
    ({"max_iter": 0}, "classifier.linear_svm.max_iter is 0"),
    ({"kernel": "rbf"}, "classifier 'linear_svm' has no option 'kernel'"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        plugins.make("classifier", "linear_svm", **options)


def test_an_estimator_without_scores_gives_its_predictions_one_hot():
    class Majority:
        def fit(self, x, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, x):
            return np.full(len(x), self.classes_[-1])

    x, y = _blobs([0, 1])
    scores = class_scores(Majority().fit(x, y), x[:3], 3)
    assert np.array_equal(scores, [[0, 1, 0]] * 3)
