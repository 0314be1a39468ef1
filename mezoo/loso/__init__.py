"""Leave-one-subject-out evaluation: folds, training, pooled metrics, reports."""

from mezoo.loso.folds import Fold, loso_folds
from mezoo.loso.metrics import scores
from mezoo.loso.runner import RunResult, run_loso

__all__ = ["Fold", "RunResult", "loso_folds", "run_loso", "scores"]
