"""The fold job: train on a fold's training subjects, predict its test subject, read the fusion weights.

A job needs only its :class:`FoldContext` (shipped once per run to each worker) and its
:class:`~mezoo.loso.folds.Fold`; it writes nothing and returns a
:class:`~mezoo.loso.folds.FoldResult`, so it runs alike in this process or on a Ray worker of
another machine. Each fold is seeded by its subject, so it gives the same result alone, in any
order, or in parallel.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mezoo.devices import resolve_device
from mezoo.displacement.base import REFRESH_BATCHES
from mezoo.loso.folds import Fold, FoldResult
from mezoo.loso.inputs import ModelInputs
from mezoo.loso.prepare import Pairs, Prepared
from mezoo.loso.trainer import Forward, check_trained, predict, train_fold
from mezoo.model import FRLDGT, build_model
from mezoo.settings import Settings


@dataclass
class FoldContext:
    """What every fold of a run needs: its settings, the prepared data (frames, labels, groups; see
    :meth:`~mezoo.loso.prepare.Prepared.shipped`), the shared model inputs and the number of classes.
    ``progress``: show each fold's epoch bars (for folds trained in this process)."""

    settings: Settings
    data: Prepared
    inputs: ModelInputs
    num_classes: int
    progress: bool = False


@dataclass(frozen=True)
class FoldTask:
    """One fold of one run: ``run`` is the key of its context among those an executor was given."""

    run: int
    fold: Fold


def fold_job(contexts: Mapping[int, FoldContext], task: FoldTask) -> FoldResult:
    """The job an executor runs per fold: :func:`run_fold` in the task's run context."""
    return run_fold(contexts[task.run], task.fold)


class PairSampler:
    """Random batches of self-supervision pairs from the training subjects of one fold only."""

    def __init__(self, pairs: Pairs, test_subject: str, batch_size: int, device: torch.device):
        self.pairs = pairs
        self.rows = np.flatnonzero(pairs.groups != test_subject)
        self.batch_size = batch_size
        self.device = device

    def sample(self, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None]:
        """A batch ``(first, second)`` of ``(B, C, H, W)`` floats in [0, 1] and their validity
        masks ``(B, 1, H, W)`` (or ``None``)."""
        pick = torch.as_tensor(self.rows)[torch.randint(len(self.rows), (self.batch_size,), generator=generator)]
        first = self.pairs.first[pick].to(self.device).float().div_(255)
        second = self.pairs.second[pick].to(self.device).float().div_(255)
        mask = None if self.pairs.mask is None else self.pairs.mask[pick].to(self.device).float()
        return first, second, mask


def fold_seed(seed: int, subject: str) -> int:
    """A fold's seed: depends on the subject, not the fold's position, so folds reproduce alone or in parallel."""
    return (int(seed) * 1_000_003 + zlib.crc32(subject.encode())) % 2**31


@dataclass
class Fitted:
    """A trained model (in evaluation mode), the loss of each epoch, and its forward (rows of the
    context's data -> logits; unaugmented, at the annotated apex, in evaluation mode)."""

    model: FRLDGT
    history: list[float]
    forward: Forward


def fit_model(context: FoldContext, train_rows: np.ndarray, device: torch.device, held_out: str = "",
              name: str = "model") -> Fitted:
    """Build the model of the context's settings and train it on the rows ``train_rows`` of its data.

    ``held_out``: a LOSO group whose self-supervision pairs are never used (a fold's test
    subject; empty to use every pair, as the deployment model of ``mezoo train`` does). Training
    picks a random apex among its neighbours (``train.apex_jitter``) and augments batches
    (``train.augment``). The model is seeded by ``name`` (a fold's subject).

    Raises:
        TrainingError: the loss or the weights stopped being finite.
    """
    settings, data, train = context.settings, context.data, context.settings.train
    seed = fold_seed(settings.seed, name)
    torch.manual_seed(seed)
    model = build_model(settings, context.num_classes).to(device)
    forward = context.inputs.forward(model, data, settings, torch.Generator().manual_seed(seed + 1), device)
    pair_loss: Callable[[torch.Generator], Tensor] | None = None
    sampler = None
    if context.inputs.pairs is not None:
        sampler = PairSampler(context.inputs.pairs, held_out,
                              int(model.displacement.pair_batch_size or train.batch_size), device)
        pair_loss = lambda generator: model.displacement.pair_loss(*sampler.sample(generator))  # noqa: E731
    history = train_fold(model, forward, train_idx=train_rows, train_labels=data.labels[train_rows],
                         num_classes=context.num_classes, train=train, device=device, seed=seed, fold_name=name,
                         progress=context.progress, pair_loss=pair_loss)
    if model.displacement.trainable:
        model.displacement.refresh_statistics(_training_pairs(data, train_rows, sampler, train.batch_size, seed + 2,
                                                              device))
    model.eval()
    return Fitted(model, history, forward)


def run_fold(context: FoldContext, fold: Fold) -> FoldResult:
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


def _training_pairs(data: Prepared, train_rows: np.ndarray, sampler: PairSampler | None, batch_size: int,
                    seed: int, device: torch.device) -> Iterator[tuple[Tensor, Tensor, Tensor | None]]:
    """Batches of the fold's training pairs for a provider's :meth:`refresh_statistics`: self-supervision
    pairs when there are some, else the training rows' onset and apex (never the test subject's)."""
    generator = torch.Generator().manual_seed(seed)
    if sampler is not None:
        for _ in range(REFRESH_BATCHES):
            yield sampler.sample(generator)
        return
    rows = torch.as_tensor(train_rows, dtype=torch.long)
    rows = rows[torch.randperm(len(rows), generator=generator)][:REFRESH_BATCHES * batch_size]
    for start in range(0, len(rows), batch_size):
        idx = rows[start:start + batch_size]
        onset, apex, _ = data.frames(idx, device)
        yield onset, apex, data.masks(idx, device)


@torch.no_grad()
def mean_fusion_weights(model: FRLDGT, forward: Callable[[Tensor], Any], rows: np.ndarray,
                        batch_size: int) -> dict[str, Any]:
    """The fusion layers' softmax weights on the test subject, averaged over samples and heads
    (``{}`` for a head without them).

    Run ``batch_size`` rows at a time (a sequence model's batch holds T - 1 steps per row).
    """
    weights_of = getattr(model.fusion, "fusion_weights", None)
    if weights_of is None:
        return {}
    model.eval()
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    index = torch.as_tensor(rows)
    for start in range(0, len(index), batch_size):
        forward(index[start:start + batch_size])
        for name, w in weights_of().items():  # (B, h, n): summed over samples and heads
            sums[name] = sums.get(name, 0) + w.sum((0, 1))
            counts[name] = counts.get(name, 0) + w.shape[0] * w.shape[1]
    means = {name: s / counts[name] for name, s in sums.items()}
    out: dict[str, Any] = {}
    local = sorted((int(k.split("/")[1]), w) for k, w in means.items() if k.startswith("local/"))
    if local:
        out["local"] = torch.stack([w for _, w in local]).cpu().tolist()
    for name, w in means.items():  # global, face, and a sequence head's time
        if not name.startswith("local/"):
            out[name] = w.cpu().tolist()
    return out
