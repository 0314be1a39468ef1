"""FRL-DGT-S's sequenced Transformer fusion (TransFu-S, paper sec. 4.4).

FRL-DGT-S classifies a whole clip: TIM resamples it to T frames (10 in the paper), the onset is
paired with each of the other T - 1 frames, the DGM gives one displacement per pair (DGM-S: the
core's :meth:`mezoo.displacement.base.DisplacementProvider.pairs`), and each displacement with
its frame goes through FRL-DGT's local, global and full-face fusion. TransFu-S then "requires a
further fusion step to model the temporal dependencies between T frames": one more fusion module
(position embedding, Attn block, fusion layer) over the T - 1 step vectors, before the classifier.
Training as FRL-DGT with batch 5 (``config_defaults``).

Choices where the paper is silent: the time module works on the step vectors as they are
(regions and full face side by side, ``2 C`` wide; no projection), with its own depth
``time_depth`` = 1 and the same fusion layer as the other modules (Fu-B-Attn, or Fu-A-Attn for
``fu_a_attn_s``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from mezoo.fusion.transformer_fusion import FusionModule, TransformerFusion


class SequencedFusion(TransformerFusion):
    """TransFu-S: FRL-DGT's Transformer fusion on each of ``num_steps`` steps, then a fusion over time.

    Args:
        in_channels: M, channels of every step's crops (frame + displacement).
        num_classes: output classes.
        num_steps: T - 1, onset -> frame pairs per clip (mezoo passes ``sequence.length`` - 1).
        time_depth: Transformer layers in the time module's Attn block.
        The rest: as :class:`mezoo.fusion.transformer_fusion.TransformerFusion`.

    Shape:
        - regions: ``(B, T-1, K, M, R, R)``; face: ``(B, T-1, M, S, S)``.
        - output: ``(B, num_classes)``.
    """

    sequence: ClassVar[bool] = True
    config_defaults: ClassVar[dict[str, Any]] = {
        "train": {"batch_size": 5},  # paper sec. 4.4
        "sequence": {"length": 10, "interpolator": "tim"},
    }

    def __init__(self, in_channels: int, num_classes: int, num_steps: int = 9, num_regions: int = 9,
                 region_size: int = 90, face_size: int = 90, embed_dim: int = 256, num_heads: int = 8,
                 patch_size: int = 18, local_depth: int = 1, global_depth: int = 1, face_depth: int = 1,
                 time_depth: int = 1, mlp_ratio: float = 4.0, dropout: float = 0.1, use_local: bool = True,
                 use_global: bool = True, use_full_face: bool = True):
        super().__init__(in_channels, num_classes, num_regions=num_regions, region_size=region_size,
                         face_size=face_size, embed_dim=embed_dim, num_heads=num_heads, patch_size=patch_size,
                         local_depth=local_depth, global_depth=global_depth, face_depth=face_depth,
                         mlp_ratio=mlp_ratio, dropout=dropout, use_local=use_local, use_global=use_global,
                         use_full_face=use_full_face)
        if num_steps < 1:
            raise ValueError(f"num_steps must be at least 1, not {num_steps}")
        self.num_steps = num_steps
        self.time = FusionModule(self.feature_dim, num_steps, num_heads, time_depth, mlp_ratio, dropout,
                                 self.fusion_layer)

    def step_features(self, regions: Tensor | None, face: Tensor) -> Tensor:
        """Each step fused on its own: ``(B, T-1, feature_dim)``."""
        if face.ndim != 5 or face.shape[1] != self.num_steps:
            raise ValueError(
                f"a sequence head built for {self.num_steps} steps needs a face input (B, {self.num_steps}, M, S, S), "
                f"not {tuple(face.shape)}; sequence.length must be num_steps + 1"
            )
        batch, steps = face.shape[:2]
        flat = None if regions is None else regions.flatten(0, 1)
        return self.features(flat, face.flatten(0, 1)).unflatten(0, (batch, steps))

    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        return self.classifier(self.time(self.step_features(regions, face)))

    def fusion_weights(self) -> dict[str, Tensor]:
        """As the pair head's (over all steps), plus ``"time"``: ``(B, h, T-1)``."""
        out = super().fusion_weights()
        if self.time.fuse.last_weights is not None:
            out["time"] = self.time.fuse.last_weights
        return out


class FuBAttnS(SequencedFusion):
    """TransFu-S with the "linear fusion before attention" layer: FRL-DGT-S as in the paper."""

    fusion_layer = "before"


class FuAAttnS(SequencedFusion):
    """TransFu-S with attention then a linear map in every fusion layer (the M4 change, on sequences)."""

    fusion_layer = "after"
