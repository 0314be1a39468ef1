"""The Attn block of the paper: a stack of pre-norm Transformer layers (LayerNorm, MHA, MLP).

The layers are the standard pre-norm ViT layer (Dosovitskiy et al., ICLR 2021), with the module
names, initialisation and arithmetic of timm's ``Block`` (LayerNorm eps 1e-6, fused scaled
dot-product attention, exact GELU), so the weights of heads built on timm's layers load here
unchanged. They are written here rather than imported because importing timm costs a command-line
start about two seconds (it imports torchvision's operators and with them ``torch._dynamo``);
timm's own ``VisionTransformer`` is still the ``vit_grid`` head, imported when that head is used.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def trunc_normal_(tensor: Tensor, std: float = 1.0, mean: float = 0.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill ``tensor`` in place from the normal distribution ``N(mean, std^2)`` cut to ``[a, b]``,
    by the inverse-CDF method (uniform draws between the CDF's values at the bounds, mapped back by
    the inverse error function), the initialisation ViTs use for position embeddings. (torch's
    ``nn.init.trunc_normal_`` draws other numbers from the same seed in this torch version, which
    would change every head's initial weights.)

    Example:
        >>> w = trunc_normal_(torch.empty(1000), std=0.02)
        >>> bool(w.abs().max() <= 2.0), round(float(w.std()), 2)
        (True, 0.02)
    """
    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with torch.no_grad():
        low, high = cdf((a - mean) / std), cdf((b - mean) / std)
        tensor.uniform_(2 * low - 1, 2 * high - 1)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.0))
        tensor.add_(mean)
        return tensor.clamp_(min=a, max=b)


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention: one ``qkv`` projection, scaled dot-product attention per head, ``proj``.

    Shape:
        - input: ``(B, N, C)``; output: ``(B, N, C)``.

    Example:
        >>> MultiHeadAttention(64, num_heads=4)(torch.randn(2, 9, 64)).shape
        torch.Size([2, 9, 64])
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embedding size {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop.p if self.training else 0.0)
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(b, n, c)))


class Mlp(nn.Module):
    """Two linear layers with an exact GELU between them: ``(..., C)`` -> ``(..., C)``."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class TransformerLayer(nn.Module):
    """A pre-norm Transformer layer: ``x + MHA(LN(x))``, then ``x + MLP(LN(x))``.

    Shape:
        - input: ``(B, N, C)``; output: ``(B, N, C)``.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 proj_drop: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadAttention(dim, num_heads, qkv_bias=qkv_bias, proj_drop=proj_drop)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=proj_drop)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class AttnBlock(nn.Sequential):
    """``depth`` pre-norm Transformer layers (:class:`TransformerLayer`) over a token sequence.

    Shape:
        - input: ``(B, N, C)``; output: ``(B, N, C)``.

    Example:
        >>> AttnBlock(32, num_heads=4, depth=2)(torch.randn(3, 5, 32)).shape
        torch.Size([3, 5, 32])
    """

    def __init__(self, dim: int, num_heads: int, depth: int = 1, mlp_ratio: float = 4.0, dropout: float = 0.0):
        super().__init__(*[
            TransformerLayer(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=True, proj_drop=dropout)
            for _ in range(depth)
        ])

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x)
