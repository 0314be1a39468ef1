"""The base class of fusion heads."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from torch import Tensor, nn


class FusionHead(nn.Module, ABC):
    """Maps region crops and the full face to class logits.

    Constructed by mezoo with ``in_channels`` (M: onset + apex + displacement channels),
    ``num_classes``, ``num_regions`` (K), ``region_size`` (R) and ``face_size`` (S), plus the head's
    own options from the config. A head that ignores regions sets ``uses_regions = False`` and
    then receives ``None`` for them (the crops are not computed).

    A *sequence* head (``sequence = True``, FRL-DGT-S) classifies a clip resampled to T frames
    (``sequence.length``): it is also constructed with ``num_steps`` = T - 1, and each of its
    inputs has a time axis after the batch, one step per onset -> frame t pair (t = 1 .. T-1); its
    M channels are then frame t and its displacement from the onset (paper sec. 4.4: "the output
    displacement concatenated with its corresponding frame").

    ``config_defaults`` holds settings the head needs changed from the packaged defaults (a
    sequence head brings its interpolator and batch size); they apply below the dataset's own
    defaults, the config file and ``--set``.

    Shape:
        - regions: ``(B, K, M, R, R)`` or ``None``; a sequence head: ``(B, T-1, K, M, R, R)``.
        - face: ``(B, M, S, S)``; a sequence head: ``(B, T-1, M, S, S)``.
        - output: ``(B, num_classes)`` logits.
    """

    uses_regions: bool = True
    sequence: ClassVar[bool] = False
    config_defaults: ClassVar[dict[str, Any]] = {}

    @abstractmethod
    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        """Logits for a batch."""
