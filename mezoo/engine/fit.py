"""Fitting one model: built from the settings, trained on some rows of the run's frames, with the
policies the settings name (apex jitter, augmentation, a trainable provider's self-supervision).

:func:`fit_model` is what a LOSO fold (:mod:`mezoo.loso.job`) and ``mezoo train``
(:mod:`mezoo.inference.train`) share; it needs only a :class:`TrainingContext`, so it runs alike in
this process or on a worker of another machine.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mezoo.displacement.base import REFRESH_BATCHES
from mezoo.engine.frames import Frames, Pairs
from mezoo.engine.inputs import InputPath
from mezoo.engine.loop import Forward, train_epochs
from mezoo.model import FRLDGT, build_model
from mezoo.settings import Settings


@dataclass
class TrainingContext:
    """What every model of a run needs: its settings, the frames (with labels and groups; for workers,
    :meth:`~mezoo.engine.frames.Frames.shipped`), the input path with what it computed once, and
    the number of classes. ``progress``: show the epoch bars (for models trained in this process)."""

    settings: Settings
    data: Frames
    inputs: InputPath
    num_classes: int
    progress: bool = False


class PairSampler:
    """Random batches of self-supervision pairs from the subjects a model trains on only (``groups``:
    the LOSO groups of its training rows; never a test subject's frames)."""

    def __init__(self, pairs: Pairs, groups: np.ndarray, batch_size: int, device: torch.device):
        self.pairs = pairs
        self.rows = np.flatnonzero(np.isin(pairs.groups, np.unique(groups)))
        if len(self.rows) == 0:
            from mezoo.errors import DataError

            raise DataError("no self-supervision pairs come from the training subjects; the provider cannot train")
        self.batch_size = batch_size
        self.device = device

    def sample(self, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None]:
        """A batch ``(first, second)`` of ``(B, C, H, W)`` floats in [0, 1] and their validity
        masks ``(B, 1, H, W)`` (or ``None``)."""
        pick = torch.as_tensor(self.rows, device="cpu")[torch.randint(len(self.rows), (self.batch_size,),
                                                                      generator=generator, device="cpu")]
        first = self.pairs.first[pick].to(self.device).float().div_(255)
        second = self.pairs.second[pick].to(self.device).float().div_(255)
        mask = None if self.pairs.mask is None else self.pairs.mask[pick].to(self.device).float()
        return first, second, mask


def model_seed(seed: int, name: str) -> int:
    """The seed of the model called ``name`` (a fold's subject): it depends on the name, not on a
    fold's position, so folds reproduce alone, in any order, or in parallel."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % 2**31


@dataclass
class Fitted:
    """A trained model (in evaluation mode), the loss of each epoch, and its forward (rows of the
    context's frames -> logits; unaugmented, at the annotated apex, in evaluation mode)."""

    model: FRLDGT
    history: list[float]
    forward: Forward


def fit_model(context: TrainingContext, train_rows: np.ndarray, device: torch.device, name: str = "model") -> Fitted:
    """Build the model of the context's settings and train it on the rows ``train_rows`` of its data.

    A trainable provider's self-supervision pairs come from the subjects of ``train_rows`` only
    (a fold's test side never; all of them for the deployment model of ``mezoo train``). Training
    picks a random apex among its neighbours (``train.apex_jitter``) and augments batches
    (``train.augment``). The model is seeded by ``name`` (a fold's name).

    Raises:
        TrainingError: the loss or the weights stopped being finite.
    """
    settings, data, train = context.settings, context.data, context.settings.train
    seed = model_seed(settings.seed, name)
    torch.manual_seed(seed)
    model = build_model(settings, context.num_classes).to(device)
    if settings.run.channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = context.inputs.forward(model, data, settings, torch.Generator().manual_seed(seed + 1), device)
    pair_loss: Callable[[torch.Generator], Tensor] | None = None
    sampler = None
    if context.inputs.pairs is not None:
        sampler = PairSampler(context.inputs.pairs, data.groups[train_rows],
                              int(model.displacement.pair_batch_size or train.batch_size), device)
        pair_loss = lambda generator: model.displacement.pair_loss(*sampler.sample(generator))  # noqa: E731
    if settings.run.precision == "bf16":  # the networks under autocast; data assembly and losses stay fp32
        model.fusion.forward = autocast(model.fusion.forward, device)  # type: ignore[method-assign]
        model.displacement.forward = autocast(model.displacement.forward, device)  # type: ignore[method-assign]
        if pair_loss is not None:
            pair_loss = autocast(pair_loss, device)
    history = train_epochs(model, forward, train_idx=train_rows, train_labels=data.labels[train_rows],
                         num_classes=context.num_classes, train=train, device=device, seed=seed, fold_name=name,
                         progress=context.progress, pair_loss=pair_loss)
    if model.displacement.trainable:
        model.displacement.refresh_statistics(_training_pairs(data, train_rows, sampler, train.batch_size, seed + 2,
                                                              device))
    model.eval()
    return Fitted(model, history, forward)


def autocast(function: Callable[..., Any], device: torch.device) -> Callable[..., Any]:
    """``function`` run under bfloat16 autocast on ``device``'s kind (``run.precision: bf16``);
    the tensors it returns come back as float32, so losses, softmax and the checks stay in fp32."""
    def run(*args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = function(*args, **kwargs)
        if isinstance(out, tuple):
            return tuple(o.float() if isinstance(o, Tensor) else o for o in out)
        return out.float() if isinstance(out, Tensor) else out
    return run


def _training_pairs(data: Frames, train_rows: np.ndarray, sampler: PairSampler | None, batch_size: int,
                    seed: int, device: torch.device) -> Iterator[tuple[Tensor, Tensor, Tensor | None]]:
    """Batches of the fold's training pairs for a provider's :meth:`refresh_statistics`: self-supervision
    pairs when there are some, else the training rows' onset and apex (never the test subject's)."""
    generator = torch.Generator().manual_seed(seed)
    if sampler is not None:
        for _ in range(REFRESH_BATCHES):
            yield sampler.sample(generator)
        return
    rows = torch.as_tensor(train_rows, dtype=torch.long, device="cpu")
    rows = rows[torch.randperm(len(rows), generator=generator, device="cpu")][:REFRESH_BATCHES * batch_size]
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
    index = torch.as_tensor(rows, device="cpu")
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
