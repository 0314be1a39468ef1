"""Fusion heads: AU-region crops and the full face -> class logits.

``ViTGrid`` (timm's VisionTransformer) is imported on first use: importing timm costs seconds that
the other heads do not need.
"""

from typing import Any

from mezoo.fusion.attention import AttnBlock
from mezoo.fusion.base import FusionHead
from mezoo.fusion.fusion_layer import LinearFusionAfterAttention, LinearFusionBeforeAttention
from mezoo.fusion.patch_embed import PatchEmbeds
from mezoo.fusion.transformer_fusion import FuAAttn, FuBAttn, FusionModule, TransformerFusion


def __getattr__(name: str) -> Any:
    if name == "ViTGrid":
        from mezoo.fusion.vit_grid import ViTGrid

        return ViTGrid
    raise AttributeError(f"module 'mezoo.fusion' has no attribute {name!r}")


__all__ = [
    "AttnBlock",
    "FuAAttn",
    "FuBAttn",
    "FusionHead",
    "FusionModule",
    "LinearFusionAfterAttention",
    "LinearFusionBeforeAttention",
    "PatchEmbeds",
    "TransformerFusion",
    "ViTGrid",
]
