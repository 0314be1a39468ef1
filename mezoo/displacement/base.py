"""The base class of displacement providers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from torch import Tensor, nn


#: Batches of training pairs a trainable provider's :meth:`~DisplacementProvider.refresh_statistics`
#: receives after training.
REFRESH_BATCHES = 8


class DisplacementProvider(nn.Module, ABC):
    """Maps aligned onset and apex frames (or the frames between them) to a displacement ``D``.

    Deterministic providers (``trainable = False``) are computed once per sample, before the
    LOSO folds, and cached on disk. Trainable providers run inside the model for every batch:
    :meth:`training_forward` returns ``D`` and an extra loss, :meth:`pair_loss` a
    self-supervised loss on random frame pairs (``pairs_per_clip`` per clip, drawn from the
    training subjects only, ``pair_batch_size`` a step or else the training batch size;
    ``warmup_steps`` steps on them alone first), and ``lr`` is the
    learning rate of their own optimiser.

    A provider with ``uses_sequence = True`` implements :meth:`from_sequence`, which receives
    every frame from the onset to the apex. ``vector_field = True`` says the output is an (x, y)
    displacement, so augmentation rotates and mirrors it as vectors; ``in_pixels = True`` that it
    is in pixels, so ``mezoo motion-accuracy`` gives its end-point error.

    For sequence models (FRL-DGT-S), :meth:`pairs` pairs the onset with every later frame of a
    clip and returns one displacement per pair (for the DGM, the paper's DGM-S).
    ``config_defaults``: as for fusion heads, settings this provider needs changed.

    Every method takes an optional validity ``mask`` ``(B, 1, H, W)`` (1 where the calibrated pixel
    comes from the source image, 0 where the face's canvas reached past it; ``None``: all valid).
    A provider computes and normalises over the valid pixels only and returns 0 elsewhere, so
    nothing it outputs is made of pixels that were never recorded. (The model zeroes the
    output outside the mask again, so a provider that ignores it still cannot leak.)

    Shape:
        - onset, apex: ``(B, C, H, W)`` floats in ``[0, 1]``, ``C`` = 1 or 3; mask ``(B, 1, H, W)``.
        - output: ``(B, out_channels(C), H, W)``; for displacements 2 channels, x then y.
        - :meth:`pairs`: ``(B, T, C, H, W)`` -> ``(B, T-1, out_channels(C), H, W)``.
    """

    config_defaults: ClassVar[dict[str, Any]] = {}

    trainable: bool = False
    uses_sequence: bool = False
    vector_field: bool = True
    #: the output is a displacement in pixels (``of_norm``'s, normalised per sample, is not)
    in_pixels: bool = True
    #: part of the cache key of a deterministic provider's outputs: bump it when they change
    cache_version: str = "1"
    pairs_per_clip: int = 0
    pair_batch_size: int | None = None
    warmup_steps: int = 0
    lr: float | None = None

    def out_channels(self, frame_channels: int) -> int:
        """Channels of the output for frames of ``frame_channels`` channels (2: x and y)."""
        return 2

    def check_size(self, size: int) -> None:
        """Raise :class:`~mezoo.errors.ConfigError` if ``size`` x ``size`` frames (``face.size``)
        cannot be used; checked when the model is built, before any frame is read."""

    @abstractmethod
    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, C, H, W)`` onset and apex (and their ``(B, 1, H, W)`` mask) -> ``(B, out_channels, H, W)``."""

    def from_sequence(self, frames: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, T, C, H, W)`` frames from onset to apex -> ``(B, out_channels, H, W)``.

        By default, the first and last frames.
        """
        return self(frames[:, 0], frames[:, -1], mask)

    def training_forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``D`` for the classifier and this provider's own loss (``None`` if it has none)."""
        return self(onset, apex, mask), None

    def pairs(self, frames: Tensor, mask: Tensor | None = None) -> Tensor:
        """The onset (frame 0) paired with each later frame: ``(B, T, C, H, W)`` -> ``(B, T-1, D, H, W)``.

        The T-1 pairs are folded into the batch, so the provider runs once on ``B (T-1)`` pairs.
        """
        return _unfold_pairs(self(*_fold_pairs(frames, mask)), frames.shape[0])

    def pairs_training_forward(self, frames: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """:meth:`pairs` and this provider's own loss over all ``B (T-1)`` pairs, for training."""
        d, loss = self.training_forward(*_fold_pairs(frames, mask))
        return _unfold_pairs(d, frames.shape[0]), loss

    def pair_loss(self, first: Tensor, second: Tensor, mask: Tensor | None = None) -> Tensor | None:
        """A self-supervised loss on a batch of frame pairs, or ``None``."""
        return None

    def refresh_statistics(self, batches: Iterable[tuple[Tensor, Tensor, Tensor | None]]) -> None:
        """Called after training with batches of ``(first, second, mask)`` training frame pairs,
        before the model predicts: e.g. the DGM recomputes its batch-norm statistics. Default:
        nothing (the batches are not even drawn)."""


def _fold_pairs(frames: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
    """``(B, T, C, H, W)`` -> onsets and later frames, each ``(B (T-1), C, H, W)``, pair by pair,
    and the clips' ``(B, 1, H, W)`` mask repeated for each pair."""
    if frames.ndim != 5 or frames.shape[1] < 2:
        raise ValueError(f"a sequence must be (B, T, C, H, W) with T >= 2, not {tuple(frames.shape)}")
    later = frames[:, 1:]
    if mask is not None:
        mask = mask.repeat_interleave(later.shape[1], dim=0)
    return frames[:, :1].expand_as(later).flatten(0, 1), later.flatten(0, 1), mask


def _unfold_pairs(d: Tensor, batch: int) -> Tensor:
    return d.unflatten(0, (batch, d.shape[0] // batch))
