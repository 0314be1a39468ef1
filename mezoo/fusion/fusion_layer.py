"""Fusion layers: many token vectors -> one vector (paper sec. 3.2.2, Fig. 5, eq. 5-7)."""

from __future__ import annotations

import torch
from timm.layers import Attention
from torch import Tensor, nn


class LinearFusionBeforeAttention(nn.Module):
    """The paper's fusion layer, "linear fusion before attention" (Fu-B-Attn, eq. 5-7).

    Per head k, with queries ``Q`` (m x c), keys ``K`` and values ``V`` (n x c), ``c = C / h``:

    - ``W_raw = Lin([Q_1 .. Q_m]) . K^T`` where ``Lin`` maps the m query vectors to one
      (a learned weighted sum over tokens, one weight vector per head, no bias);
    - ``head_k = Softmax(BN(W_raw)) . V``;
    - ``F = Concat(head_1 .. head_h)``.

    ``Lin`` starts with equal weights ``1 / m``, where the paper notes the layer is an averaging
    operation. ``BN`` is a ``BatchNorm1d`` over the h heads, normalising each head's n logits over
    the batch and the tokens (mezoo's choice; the paper does not say which axis): it acts as a
    learned temperature and works even for a batch of one. The softmax weights of the last
    forward pass are kept in ``last_weights`` ``(B, h, n)`` for figures like the paper's Fig. 7.

    Args:
        dim: C, the embedding size; divisible by ``num_heads``.
        num_tokens: m = n, the number of vectors fused.
        num_heads: h.

    Shape:
        - input: ``(B, n, C)``; output: ``(B, C)``.

    Example:
        >>> layer = LinearFusionBeforeAttention(256, num_tokens=25, num_heads=8)
        >>> layer(torch.randn(4, 25, 256)).shape
        torch.Size([4, 256])
    """

    def __init__(self, dim: int, num_tokens: int, num_heads: int = 8, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embedding size {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.num_tokens = num_tokens
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.query_mix = nn.Parameter(torch.full((num_heads, num_tokens), 1.0 / num_tokens))
        self.norm = nn.BatchNorm1d(num_heads)
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        b, n, dim = x.shape
        h, c = self.num_heads, dim // self.num_heads
        weight, bias = self.qkv.weight, self.qkv.bias
        # eq. 5, Lin over the m queries. The query projection is linear, so mixing the tokens
        # first and projecting once per head gives the same query as projecting all m tokens
        # and mixing them: C x C instead of m x C x C multiply-adds (tested against the latter).
        mixed = torch.einsum("hn,bnd->bhd", self.query_mix, x)  # (B, h, C)
        query = torch.einsum("bhd,hcd->bhc", mixed, weight[:dim].view(h, c, dim))
        if bias is not None:
            query = query + bias[:dim].view(h, c) * self.query_mix.sum(1, keepdim=True)
        kv = nn.functional.linear(x, weight[dim:], None if bias is None else bias[dim:])
        k, v = kv.reshape(b, n, 2, h, c).permute(2, 0, 3, 1, 4)  # each (B, h, n, c)
        logits = torch.einsum("bhc,bhnc->bhn", query, k)
        weights = self.norm(logits).softmax(dim=-1)  # eq. 6
        self.last_weights = weights.detach()
        return torch.einsum("bhn,bhnc->bhc", weights, v).reshape(b, dim)  # eq. 7


class LinearFusionAfterAttention(nn.Module):
    """The conventional alternative (Fu-A-Attn, paper Fig. 5a, ablation M4).

    Ordinary multi-head self-attention over the n tokens, then one linear map of the whole
    ``n x C`` output to a C-vector.

    Shape:
        - input: ``(B, n, C)``; output: ``(B, C)``.
    """

    def __init__(self, dim: int, num_tokens: int, num_heads: int = 8, qkv_bias: bool = True):
        super().__init__()
        self.num_tokens = num_tokens
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias)
        self.proj = nn.Linear(num_tokens * dim, dim)
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.attn(x).flatten(1))
