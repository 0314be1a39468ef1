"""The base class of displacement providers."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn


class DisplacementProvider(nn.Module, ABC):
    """Maps aligned onset and apex frames to a displacement ``D``.

    Set ``trainable = True`` for providers with parameters that train with the classifier (they
    then run inside the model, once per batch). Providers with ``trainable = False`` are
    deterministic: mezoo computes their output once per sample before the LOSO folds and reuses it.

    Shape:
        - onset, apex: ``(B, C, H, W)`` floats in ``[0, 1]``, ``C`` = 1 or 3.
        - output: ``(B, 2, H, W)``, channel 0 the x and channel 1 the y displacement.
    """

    trainable: bool = False

    @abstractmethod
    def forward(self, onset: Tensor, apex: Tensor) -> Tensor:
        """``(B, C, H, W)`` onset and apex -> ``(B, 2, H, W)`` displacement."""
