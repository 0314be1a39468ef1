"""Fusion layers: many token vectors -> one vector (paper sec. 3.2.2, Fig. 5, eq. 5-7)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mezoo.fusion.attention import MultiHeadAttention


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
        bias = None if self.qkv.bias is None else self.qkv.bias[None]
        out, weights = linear_fusion_before(x[None], self.query_mix[None], self.qkv.weight[None], bias, self.norm)
        self.last_weights = weights[:, 0].detach()
        return out[0]


def linear_fusion_before(x: Tensor, query_mix: Tensor, weight: Tensor, bias: Tensor | None,
                         norm: nn.Module) -> tuple[Tensor, Tensor]:
    """Eq. 5-7 for K layers at once (K = 1: one layer): returns the fused vectors and the softmax weights.

    Every projection here is linear, so it is applied where the fewest vectors need it (the same
    maths, tested against projecting all n tokens as eq. 5-7 are written):

    - eq. 5, Lin over the m queries: mix the tokens, then project once per head;
    - the logits ``q . (W_k x_j + b_k) = (W_k^T q) . x_j + q . b_k``: the query is taken back to
      the token space once instead of projecting all n keys;
    - eq. 7, the softmax weights sum to 1: ``sum_j a_j (W_v x_j + b_v) = W_v (sum_j a_j x_j) + b_v``.

    No n x C x C projection is left: C x C per head and sample instead of 2 n C^2.

    Args:
        x: ``(K, B, n, C)`` tokens.
        query_mix: ``(K, h, n)``, the weights of ``Lin``.
        weight, bias: ``(K, 3C, C)`` and ``(K, 3C)`` (or ``None``), the qkv projections.
        norm: the batch normalisation over the ``K * h`` heads' logits, ``(B, K * h, n)``.

    Returns:
        ``(K, B, C)`` and the softmax weights ``(B, K, h, n)``.
    """
    k, b, n, dim = x.shape
    h = query_mix.shape[1]
    c = dim // h
    weight = weight.view(k, 3, h, c, dim)
    mixed = torch.einsum("khn,kbnd->kbhd", query_mix, x)
    query = torch.einsum("kbhd,khcd->kbhc", mixed, weight[:, 0])
    if bias is not None:
        bias = bias.view(k, 3, h, c)
        query = query + (bias[:, 0] * query_mix.sum(-1, keepdim=True))[:, None]
    logits = torch.einsum("kbhd,kbnd->bkhn", torch.einsum("kbhc,khcd->kbhd", query, weight[:, 1]), x)
    if bias is not None:
        logits = logits + torch.einsum("kbhc,khc->bkh", query, bias[:, 1])[..., None]
    weights = norm(logits.reshape(b, k * h, n)).softmax(-1).view(b, k, h, n)  # eq. 6
    out = torch.einsum("kbhd,khcd->kbhc", torch.einsum("bkhn,kbnd->kbhd", weights, x), weight[:, 2])  # eq. 7
    if bias is not None:
        out = out + bias[:, 2][:, None]
    return out.reshape(k, b, dim), weights


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
        self.attn = MultiHeadAttention(dim, num_heads=num_heads, qkv_bias=qkv_bias)
        self.proj = nn.Linear(num_tokens * dim, dim)
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.attn(x).flatten(1))
