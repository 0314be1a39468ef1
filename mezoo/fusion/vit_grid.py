"""A plain timm Vision Transformer over the whole face in a regular patch grid."""

from __future__ import annotations

from timm.models.vision_transformer import VisionTransformer
from torch import Tensor

from mezoo.fusion.base import FusionHead, check_sizes


class ViTGrid(FusionHead):
    """timm's ``VisionTransformer`` on the full face with M input channels, trained from scratch.

    A baseline without AU regions: no class token, average-pooled tokens, no pretrained weights
    (nothing is downloaded).

    Shape:
        - face: ``(B, M, S, S)``; output: ``(B, num_classes)``.
    """

    uses_regions = False

    def __init__(self, in_channels: int, num_classes: int, num_regions: int = 9, region_size: int = 90,
                 face_size: int = 90, embed_dim: int = 256, num_heads: int = 8, patch_size: int = 18,
                 depth: int = 4, mlp_ratio: float = 4.0, dropout: float = 0.1):
        super().__init__()
        check_sizes(region_size, face_size, patch_size, embed_dim, num_heads)
        self.vit = VisionTransformer(
            img_size=face_size, patch_size=patch_size, in_chans=in_channels, num_classes=num_classes,
            embed_dim=embed_dim, depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
            class_token=False, global_pool="avg", drop_rate=dropout,
        )

    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        return self.vit(face)
