"""Classical baselines: a hand-crafted feature extractor and a scikit-learn classifier, evaluated
by the same LOSO runner, run directory, report, seeds and intervals as the deep models.

A classical model is chosen with ``features.name`` (``--features lbp_top``) and
``classifier.name`` (``--classifier linear_svm``); with ``features.name: none`` (the default) a run
is the displacement provider + fusion head model. Plugins add extractors through the
``register_features`` hook and classifiers through ``register_classifiers``.
"""

from mezoo.classical.base import Classifier, FeatureExtractor

__all__ = ["Classifier", "FeatureExtractor"]
