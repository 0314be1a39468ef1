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


def check_sizes(region_size: int, face_size: int, patch_size: int, embed_dim: int, num_heads: int) -> None:
    """The sizes a patch-based head needs: crops cut into whole patches, heads that split C evenly.

    Raises:
        ConfigError: naming the settings that disagree.
    """
    from mezoo.errors import ConfigError

    for label, key, size in (("region_size", "regions.size", region_size),
                             ("face_size", "regions.full_face_size", face_size)):
        if size % patch_size:
            raise ConfigError(f"{label} {size} ({key}) is not a multiple of the fusion head's patch_size {patch_size} "
                              f"(fusion.<head>.patch_size): make one divide the other")
    if embed_dim % num_heads:
        raise ConfigError(f"the fusion head's embed_dim {embed_dim} is not a multiple of its num_heads {num_heads}: "
                          f"each attention head takes embed_dim / num_heads channels")
