"""The Attn block of the paper: a stack of pre-norm Transformer layers (LayerNorm, MHA, MLP)."""

from __future__ import annotations

from timm.models.vision_transformer import Block
from torch import Tensor, nn


class AttnBlock(nn.Sequential):
    """``depth`` pre-norm Transformer layers (timm's ViT ``Block``) over a token sequence.

    Shape:
        - input: ``(B, N, C)``; output: ``(B, N, C)``.
    """

    def __init__(self, dim: int, num_heads: int, depth: int = 1, mlp_ratio: float = 4.0, dropout: float = 0.0):
        super().__init__(*[
            Block(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=True, proj_drop=dropout)
            for _ in range(depth)
        ])

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x)
