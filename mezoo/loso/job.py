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
class Selection:
    """What a fold's inner cross-validation chose (``protocol.select``): the ``train`` settings,
    every candidate's inner scores, and the seconds its inner trainings took together."""

    chosen: dict[str, Any]
    inner: list[dict[str, Any]]
    seconds: float = 0.0


@dataclass(frozen=True)
class FoldTask:
    """One fold of one run: ``run`` is the key of its context among those an executor was given;
    ``selection``, what its inner cross-validation chose when that ran as tasks of its own."""

    run: int
    fold: Fold
    selection: Selection | None = None


@dataclass(frozen=True)
class InnerTask:
    """One inner training of a fold's model selection: ``candidate`` (an index into
    ``protocol.select.grid()``) trained on every inner group of the fold's training subjects but
    ``group``, predicting ``group``."""

    run: int
    fold: Fold
    candidate: int
    group: int

    @property
    def name(self) -> str:
        """The file name of its result in the run directory, ``c<candidate>-g<group>``."""
        return f"c{self.candidate}-g{self.group}"


@dataclass(frozen=True)
class InnerResult:
    """An inner training's predictions: the dataset keys of the group it predicted and the class of each."""

    keys: list[str]
    y_pred: list[int]
    seconds: float


def fold_job(contexts: Mapping[int, TrainingContext], task: FoldTask) -> FoldResult:
    """The job an executor runs per fold: :func:`run_fold` in the task's run context."""
    return run_fold(contexts[task.run], task.fold, task.selection)


def inner_job(contexts: Mapping[int, TrainingContext], task: InnerTask) -> InnerResult:
    """The job an executor runs per inner training: :func:`inner_predict` in the task's run context."""
    return inner_predict(contexts[task.run], task.fold, task.candidate, task.group)


def run_fold(context: TrainingContext, fold: Fold, selection: Selection | None = None) -> FoldResult:
    """Train on the fold's training subjects (:func:`fit_model`), then predict its test subject.

    Runs on ``run.device`` as the machine running it reads it (``auto``: its CUDA device when it
    has one). The test subject's labels are not read here: they are attached to the predictions
    afterwards, by the report. With ``run.checkpoints`` the trained weights come back as
    safetensors bytes. With ``protocol.select``, the fold is trained with ``selection`` (its inner
    cross-validation, run as :class:`InnerTask`\\ s beforehand), or, without one, the inner
    cross-validation runs here first (:func:`select_inside`). A classical model's fold fits its
    classifier on the features instead (:func:`run_classical_fold`).

    Raises:
        TrainingError: the loss, the weights or the predictions stopped being finite.
    """
    if context.inputs.classical:
        return run_classical_fold(context, fold)
    start = time.perf_counter()
    device = resolve_device(context.settings.run.device)
    if context.settings.protocol.select.active:
        if selection is None:
            selection = select_inside(context, fold, device)
        context = dataclasses.replace(context, settings=context.settings.changed({"train": selection.chosen}))
    fitted = fit_model(context, fold.train, device, name=fold.subject)
    batch_size = context.settings.train.batch_size
    probs = predict(fitted.model, fitted.forward, fold.test, batch_size)
    check_trained(fitted.model, probs, fold.subject)
    weights = mean_fusion_weights(fitted.model, fitted.forward, fold.test, batch_size)
    checkpoint = None
    if context.settings.run.checkpoints:
        from safetensors.torch import save

        checkpoint = save({k: v.detach().cpu().contiguous() for k, v in fitted.model.state_dict().items()})
    seconds = time.perf_counter() - start + (selection.seconds if selection is not None else 0.0)
    return FoldResult(subject=fold.subject, keys=[context.data.keys[i] for i in fold.test],
                      y_pred=probs.argmax(1).tolist(), probs=probs.round(6).tolist(), train_loss=fitted.history,
                      seconds=round(seconds, 2), fusion_weights=weights, checkpoint=checkpoint,
                      selected=selection.chosen if selection is not None else {},
                      inner=selection.inner if selection is not None else [])


def run_classical_fold(context: TrainingContext, fold: Fold) -> FoldResult:
    """A classical model's fold: fit the classifier on the training subjects' features, predict the
    test subject's (:mod:`mezoo.engine.features`). The test subject's labels are not read here (the
    report attaches them); no checkpoint is kept (a classical model is evaluated, not deployed)."""
    from mezoo.classical.base import class_scores
    from mezoo.engine.features import fit_classifier

    start = time.perf_counter()
    features = context.inputs.features  # type: ignore[attr-defined]
    estimator = fit_classifier(context.settings, features[fold.train], context.data.labels[fold.train],
                               fold.subject)
    probs = class_scores(estimator, features[fold.test], context.num_classes)
    predicted = np.asarray(estimator.predict(features[fold.test])).astype(int).tolist()
    return FoldResult(subject=fold.subject, keys=[context.data.keys[i] for i in fold.test], y_pred=predicted,
                      probs=probs.round(6).tolist(), train_loss=[], seconds=round(time.perf_counter() - start, 2))


def inner_groups(context: TrainingContext, fold: Fold) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inner cross-validation's splits of the fold's **training** rows, as (fit, check) positions
    into ``fold.train``: scikit-learn's ``GroupKFold`` over its subjects, ``protocol.inner_folds``
    groups (at most one a subject).

    Raises:
        DataError: the fold has fewer than 2 training subjects.
    """
    from sklearn.model_selection import GroupKFold

    protocol = context.settings.protocol
    groups = context.data.groups[fold.train]
    subjects = len(np.unique(groups))
    if subjects < 2:
        raise DataError(f"fold {fold.subject}: choosing {', '.join(protocol.select.grid()[0])} by inner "
                        f"cross-validation needs at least 2 training subjects; it has {subjects}")
    return list(GroupKFold(n_splits=min(protocol.inner_folds, subjects)).split(fold.train, groups=groups))


def inner_tasks(context: TrainingContext, run: int, fold: Fold) -> list[InnerTask]:
    """Every inner training of the fold's model selection, candidate by candidate.

    Raises:
        DataError: the fold has fewer than 2 training subjects.
    """
    splits = len(inner_groups(context, fold))
    return [InnerTask(run, fold, c, k) for c in range(len(context.settings.protocol.select.grid()))
            for k in range(splits)]


def inner_keys(context: TrainingContext, task: InnerTask) -> list[str]:
    """The dataset keys of the samples an inner training predicts (its group of the fold's training rows)."""
    _, check_rows = inner_groups(context, task.fold)[task.group]
    return [context.data.keys[i] for i in task.fold.train[check_rows]]


def inner_predict(context: TrainingContext, fold: Fold, candidate: int, group: int,
                  device: torch.device | None = None) -> InnerResult:
    """Train the ``candidate``-th setting of ``protocol.select`` on the fold's inner groups but
    ``group`` and predict ``group`` (training rows of the fold only). Every candidate's model of a
    group shares its seed, so candidates differ only in the setting."""
    start = time.perf_counter()
    device = device or resolve_device(context.settings.run.device)
    fit_rows, check_rows = inner_groups(context, fold)[group]
    chosen = context.settings.protocol.select.grid()[candidate]
    trial = dataclasses.replace(context, settings=context.settings.changed({"train": chosen}), progress=False)
    fitted = fit_model(trial, fold.train[fit_rows], device, name=f"{fold.subject}/inner-{group}")
    probs = predict(fitted.model, fitted.forward, fold.train[check_rows], context.settings.train.batch_size)
    return InnerResult([context.data.keys[i] for i in fold.train[check_rows]], probs.argmax(1).tolist(),
                       round(time.perf_counter() - start, 2))


def choose(context: TrainingContext, results: Mapping[tuple[int, int], InnerResult]) -> Selection:
    """The candidate whose inner predictions, pooled over the groups, score the best UF1 against the
    fold's training labels (on a tie, the candidate given first), from every inner training's
    result keyed by (candidate, group)."""
    grid = context.settings.protocol.select.grid()
    label = dict(zip(context.data.keys, context.data.labels.tolist(), strict=True))
    scored = []
    for c, candidate in enumerate(grid):
        mine = [results[c, k] for k in sorted(k for cc, k in results if cc == c)]
        truth = [label[key] for r in mine for key in r.keys]
        got = scores(truth, [p for r in mine for p in r.y_pred], context.num_classes)
        scored.append({**candidate, "uf1": round(got["uf1"], 4), "uar": round(got["uar"], 4)})
    best = max(range(len(scored)), key=lambda i: (scored[i]["uf1"], -i))
    return Selection(grid[best], scored, round(sum(r.seconds for r in results.values()), 2))


def select_inside(context: TrainingContext, fold: Fold, device: torch.device | None = None) -> Selection:
    """The ``train`` settings of ``protocol.select`` that an inner cross-validation over the fold's
    **training** subjects scores best, and every candidate's inner score, computed here one
    training after another (the LOSO runner hands the same trainings to its executor as
    :class:`InnerTask`\\ s instead, so Ray spreads them).

    The training subjects are split into ``protocol.inner_folds`` groups (:func:`inner_groups`);
    each candidate is trained on all groups but one and predicts that one, in turn, and its
    predictions pooled over the groups give its UF1 (:func:`choose`). The fold's test side is
    never read.

    Raises:
        DataError: the fold has fewer than 2 training subjects.
    """
    results = {(t.candidate, t.group): inner_predict(context, fold, t.candidate, t.group, device)
               for t in inner_tasks(context, 0, fold)}
    return choose(context, results)
