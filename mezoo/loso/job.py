"""The fold job: train on a fold's training subjects, predict its test subject, read the fusion weights.

A job needs only its :class:`~mezoo.engine.fit.TrainingContext` (shipped once per run to each
worker) and its :class:`~mezoo.loso.folds.Fold`; it writes nothing and returns a
:class:`~mezoo.loso.folds.FoldResult`, so it runs alike in this process or on a Ray worker of
another machine. Each fold is seeded by its subject, so it gives the same result alone, in any
order, or in parallel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from mezoo.devices import resolve_device
from mezoo.engine.fit import TrainingContext, fit_model, mean_fusion_weights
from mezoo.engine.loop import check_trained, predict
from mezoo.loso.folds import Fold, FoldResult


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
    fitted = fit_model(context, fold.train, device, held_out=fold.subject, name=fold.subject)
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
                      seconds=round(time.perf_counter() - start, 2), fusion_weights=weights, checkpoint=checkpoint)
