"""The base class of fusion heads."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn


class FusionHead(nn.Module, ABC):
    """Maps region crops and the full face to class logits.

    Constructed by mezoo with ``in_channels`` (M: onset + apex + displacement channels),
    ``num_classes``, ``num_regions`` (K), ``region_size`` (R) and ``face_size`` (S), plus the head's
    own options from the config. A head that ignores regions sets ``uses_regions = False`` and
    then receives ``None`` for them (the crops are not computed).

    Shape:
        - regions: ``(B, K, M, R, R)`` or ``None``.
        - face: ``(B, M, S, S)``.
        - output: ``(B, num_classes)`` logits.
    """

    uses_regions: bool = True

    @abstractmethod
    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        """Logits for a batch."""
