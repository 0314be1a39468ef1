"""The fold job: train on a fold's training subjects, predict its test subject, read the fusion weights.

A job needs only its :class:`~mezoo.engine.fit.TrainingContext` (shipped once per run to each
worker) and its :class:`~mezoo.loso.folds.Fold`; it writes nothing and returns a
:class:`~mezoo.loso.folds.FoldResult`, so it runs alike in this process or on a Ray worker of
another machine. Each fold is seeded by its subject, so it gives the same result alone, in any
order, or in parallel.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mezoo.devices import resolve_device
from mezoo.engine.fit import TrainingContext, fit_model, mean_fusion_weights
from mezoo.engine.loop import check_trained, predict
from mezoo.errors import DataError
from mezoo.loso.folds import Fold, FoldResult
from mezoo.loso.metrics import scores


@dataclass(frozen=True)
class FoldTask:
    """One fold of one run: ``run`` is the key of its context among those an executor was given."""

    run: int
    fold: Fold


def fold_job(contexts: Mapping[int, TrainingContext], task: FoldTask) -> FoldResult:
    """The job an executor runs per fold: :func:`run_fold` in the task's run context."""
    return run_fold(contexts[task.run], task.fold)


def run_fold(context: TrainingContext, fold: Fold) -> FoldResult:
    """Train on the fold's training subjects (:func:`fit_model`), then predict its test subject.

    Runs on ``run.device`` as the machine running it reads it (``auto``: its CUDA device when it
    has one). The test subject's labels are not read here: they are attached to the predictions
    afterwards, by the report. With ``run.checkpoints`` the trained weights come back as
    safetensors bytes.

    Raises:
        TrainingError: the loss, the weights or the predictions stopped being finite.
    """
    start = time.perf_counter()
    device = resolve_device(context.settings.run.device)
    selected: dict[str, Any] = {}
    inner: list[dict[str, Any]] = []
    if context.settings.protocol.select.active:
        selected, inner = select_inside(context, fold, device)
        context = dataclasses.replace(context, settings=context.settings.changed({"train": selected}))
    fitted = fit_model(context, fold.train, device, name=fold.subject)
    batch_size = context.settings.train.batch_size
    probs = predict(fitted.model, fitted.forward, fold.test, batch_size)
    check_trained(fitted.model, probs, fold.subject)
    weights = mean_fusion_weights(fitted.model, fitted.forward, fold.test, batch_size)
    checkpoint = None
    if context.settings.run.checkpoints:
        from safetensors.torch import save

        checkpoint = save({k: v.detach().cpu().contiguous() for k, v in fitted.model.state_dict().items()})
    return FoldResult(subject=fold.subject, keys=[context.data.keys[i] for i in fold.test],
                      y_pred=probs.argmax(1).tolist(), probs=probs.round(6).tolist(), train_loss=fitted.history,
                      seconds=round(time.perf_counter() - start, 2), fusion_weights=weights, checkpoint=checkpoint,
                      selected=selected, inner=inner)


def select_inside(context: TrainingContext, fold: Fold, device: torch.device) -> tuple[dict[str, Any],
                                                                                          list[dict[str, Any]]]:
    """The ``train`` settings of ``protocol.select`` that an inner cross-validation over the fold's
    **training** subjects scores best, and every candidate's inner score.

    The training subjects are split into ``protocol.inner_folds`` groups (scikit-learn's
    ``GroupKFold``, at most one group a subject); each candidate is trained on all groups but one
    and predicts that one, in turn, and its predictions pooled over the groups give its UF1 (the
    fold's training labels only). Every candidate's inner models share their seeds (by inner
    group), so candidates differ only in the setting. The best UF1 wins; on a tie, the candidate
    given first. The fold's test side is never read.

    Raises:
        DataError: the fold has fewer than 2 training subjects.
    """
    from sklearn.model_selection import GroupKFold

    protocol = context.settings.protocol
    grid = protocol.select.grid()
    groups = context.data.groups[fold.train]
    subjects = len(np.unique(groups))
    if subjects < 2:
        raise DataError(f"fold {fold.subject}: choosing {', '.join(grid[0])} by inner "
                        f"cross-validation needs at least 2 training subjects; it has {subjects}")
    splits = list(GroupKFold(n_splits=min(protocol.inner_folds, subjects)).split(fold.train, groups=groups))
    batch_size = context.settings.train.batch_size
    results = []
    for candidate in grid:
        trial = dataclasses.replace(context, settings=context.settings.changed({"train": candidate}), progress=False)
        truth, guess = [], []
        for k, (fit_rows, check_rows) in enumerate(splits):
            fitted = fit_model(trial, fold.train[fit_rows], device, name=f"{fold.subject}/inner-{k}")
            probs = predict(fitted.model, fitted.forward, fold.train[check_rows], batch_size)
            truth += context.data.labels[fold.train[check_rows]].tolist()
            guess += probs.argmax(1).tolist()
        got = scores(truth, guess, context.num_classes)
        results.append({**candidate, "uf1": round(got["uf1"], 4), "uar": round(got["uar"], 4)})
    best = max(range(len(results)), key=lambda i: (results[i]["uf1"], -i))
    return grid[best], results
