"""Fusion heads: AU-region crops and the full face -> class logits."""

from mezoo.fusion.attention import AttnBlock
from mezoo.fusion.base import FusionHead
from mezoo.fusion.fusion_layer import LinearFusionAfterAttention, LinearFusionBeforeAttention
from mezoo.fusion.patch_embed import PatchEmbeds
from mezoo.fusion.transformer_fusion import FuAAttn, FuBAttn, FusionModule, TransformerFusion
from mezoo.fusion.vit_grid import ViTGrid

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
