"""K fusion modules with the same shape run as one computation (FRL-DGT's local fusion).

The local fusion of FRL-DGT has one fusion module per AU region (paper Fig. 2): K = 9 Attn
blocks and fusion layers with their own weights over the same ``N x C`` token shape. Called in a
Python loop they are 9 x (layers) small matrix products; here every weight carries a leading
region axis ``K`` and each layer is one batched product (``torch.baddbmm``) over it, attention
one ``scaled_dot_product_attention`` over ``K * B`` token sets. The maths is that of
:class:`~mezoo.fusion.transformer_fusion.FusionModule` (:class:`~mezoo.fusion.attention.TransformerLayer`, then
LayerNorm, then a fusion layer of :mod:`mezoo.fusion.fusion_layer`), module for module; the
tests compare outputs and gradients with the loop.

Parameter names mirror the loop's with the region index moved into the tensors:
``local.3.blocks.0.attn.qkv.weight`` ``(3C, C)`` is ``local.blocks.0.attn.qkv.weight[3]``
``(K, 3C, C)``; :func:`stack_state_dict` converts a checkpoint of the loop (saved by mezoo
before the grouping) and :class:`~mezoo.fusion.transformer_fusion.TransformerFusion` does it
when such a checkpoint is loaded.

Internally tokens are laid out ``(K, B * N, C)``, region first, so every linear layer is a
``(K, B * N, in) x (K, in, out)`` batched product without copies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mezoo.fusion.fusion_layer import linear_fusion_before


class GroupedLinear(nn.Module):
    """K linear maps: ``(K, M, in)`` -> ``(K, M, out)``; ``weight`` ``(K, out, in)`` as nn.Linear's, stacked."""

    def __init__(self, groups: int, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(groups, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(groups, out_features))
        bound = 1 / math.sqrt(in_features)
        for k in range(groups):  # nn.Linear's default initialisation, per group
            nn.init.kaiming_uniform_(self.weight[k], a=math.sqrt(5))
            nn.init.uniform_(self.bias[k], -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return torch.bmm(x, self.weight.transpose(1, 2)).add_(self.bias[:, None])


class GroupedLayerNorm(nn.Module):
    """K LayerNorms over the last axis: ``(K, M, C)``; ``weight``, ``bias`` ``(K, C)``."""

    def __init__(self, groups: int, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(groups, dim))
        self.bias = nn.Parameter(torch.zeros(groups, dim))

    def forward(self, x: Tensor) -> Tensor:
        return torch.addcmul(self.bias[:, None], F.layer_norm(x, x.shape[-1:], eps=self.eps), self.weight[:, None])


class GroupedAttention(nn.Module):
    """K multi-head self-attentions (as :class:`~mezoo.fusion.attention.MultiHeadAttention`: qkv, scaled dot product, proj).

    Shape:
        - input: ``(K, B * N, C)`` and ``B``; output: the same shape.
    """

    def __init__(self, groups: int, dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = GroupedLinear(groups, dim, 3 * dim)
        self.proj = GroupedLinear(groups, dim, dim)

    def forward(self, x: Tensor, batch: int) -> Tensor:
        k, m, dim = x.shape
        n, h = m // batch, self.num_heads
        qkv = self.qkv(x).view(k, batch, n, 3, h, dim // h).permute(3, 0, 1, 4, 2, 5).flatten(1, 2)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (K * B, h, N, c)
        out = out.view(k, batch, h, n, dim // h).transpose(2, 3).reshape(k, m, dim)
        return F.dropout(self.proj(out), self.dropout, self.training)


class GroupedMlp(nn.Module):
    """K two-layer MLPs with GELU (as :class:`~mezoo.fusion.attention.Mlp`): ``(K, M, C)`` -> ``(K, M, C)``."""

    def __init__(self, groups: int, dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = dropout
        self.fc1 = GroupedLinear(groups, dim, hidden)
        self.fc2 = GroupedLinear(groups, hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        x = F.dropout(F.gelu(self.fc1(x)), self.dropout, self.training)
        return F.dropout(self.fc2(x), self.dropout, self.training)


class GroupedBlock(nn.Module):
    """K pre-norm Transformer layers (as :class:`~mezoo.fusion.attention.TransformerLayer`, LayerNorm eps 1e-6)."""

    def __init__(self, groups: int, dim: int, num_heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.norm1 = GroupedLayerNorm(groups, dim, eps=1e-6)
        self.attn = GroupedAttention(groups, dim, num_heads, dropout)
        self.norm2 = GroupedLayerNorm(groups, dim, eps=1e-6)
        self.mlp = GroupedMlp(groups, dim, int(dim * mlp_ratio), dropout)

    def forward(self, x: Tensor, batch: int) -> Tensor:
        x = x + self.attn(self.norm1(x), batch)
        return x + self.mlp(self.norm2(x))


class GroupedFusionBefore(nn.Module):
    """K "linear fusion before attention" layers (Fu-B-Attn; the maths of
    :class:`~mezoo.fusion.fusion_layer.LinearFusionBeforeAttention`, one
    :func:`~mezoo.fusion.fusion_layer.linear_fusion_before` for all K).

    The K batch normalisations of h head logits each are one ``BatchNorm1d`` over ``K * h``
    channels: the same statistics, channel by channel. The softmax weights of the last forward
    pass are kept in ``last_weights`` ``(B, K, h, N)``.

    Shape:
        - input: ``(K, B * N, C)`` and ``B``; output: ``(K, B, C)``.
    """

    def __init__(self, groups: int, dim: int, num_tokens: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embedding size {dim} is not divisible by {num_heads} heads")
        self.qkv = GroupedLinear(groups, dim, 3 * dim)
        self.query_mix = nn.Parameter(torch.full((groups, num_heads, num_tokens), 1.0 / num_tokens))
        self.norm = nn.BatchNorm1d(groups * num_heads)
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor, batch: int) -> Tensor:
        k, m, dim = x.shape
        out, weights = linear_fusion_before(x.view(k, batch, m // batch, dim), self.query_mix, self.qkv.weight,
                                            self.qkv.bias, self.norm)
        self.last_weights = weights.detach()
        return out


class GroupedFusionAfter(nn.Module):
    """K "attention then linear fusion" layers (Fu-A-Attn, ablation M4; see
    :class:`~mezoo.fusion.fusion_layer.LinearFusionAfterAttention`).

    Shape:
        - input: ``(K, B * N, C)`` and ``B``; output: ``(K, B, C)``.
    """

    def __init__(self, groups: int, dim: int, num_tokens: int, num_heads: int):
        super().__init__()
        self.attn = GroupedAttention(groups, dim, num_heads)
        self.proj = GroupedLinear(groups, num_tokens * dim, dim)
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor, batch: int) -> Tensor:
        k, m, dim = x.shape
        return self.proj(self.attn(x, batch).reshape(k, batch, (m // batch) * dim))


GROUPED_FUSION_LAYERS: dict[str, type[nn.Module]] = {"before": GroupedFusionBefore, "after": GroupedFusionAfter}


class GroupedFusionModules(nn.Module):
    """K fusion modules (position embedding, ``depth`` Attn layers, LayerNorm, fusion layer) with
    their own weights, over K token sets of the same size, computed together.

    Initialised from ``make_module()`` called K times: the weights are drawn exactly as K separate
    :class:`~mezoo.fusion.transformer_fusion.FusionModule` would draw them (the same random
    numbers in the same order, and nothing else drawn), then stacked, so a seed gives the head
    the same start as it had before the grouping.

    Shape:
        - input: ``(B, K, N, C)`` tokens; output: ``(B, K, C)``.
    """

    def __init__(self, groups: int, dim: int, num_tokens: int, num_heads: int, depth: int, mlp_ratio: float,
                 dropout: float, fusion: str, make_module: Callable[[], nn.Module]):
        super().__init__()
        self.groups = groups
        modules = [make_module() for _ in range(groups)]
        with torch.random.fork_rng(devices=[]):  # their own initialisation is overwritten below
            self.pos_embed = nn.Parameter(torch.zeros(groups, num_tokens, dim))
            self.blocks = nn.ModuleList(GroupedBlock(groups, dim, num_heads, mlp_ratio, dropout)
                                        for _ in range(depth))
            self.norm = GroupedLayerNorm(groups, dim, eps=1e-5)
            self.fuse = GROUPED_FUSION_LAYERS[fusion](groups, dim, num_tokens, num_heads)
        self.load_state_dict(stack_state_dict([m.state_dict() for m in modules], self.state_dict()))

    def forward(self, tokens: Tensor) -> Tensor:
        b, k, n, dim = tokens.shape
        x = (tokens.transpose(0, 1) + self.pos_embed[:, None]).reshape(k, b * n, dim)
        for block in self.blocks:
            x = block(x, b)
        return self.fuse(self.norm(x), b).transpose(0, 1)

    @property
    def last_weights(self) -> Tensor | None:
        """The fusion layers' softmax weights of the last forward pass, ``(B, K, h, N)`` (Fu-B-Attn only)."""
        return self.fuse.last_weights


def stack_state_dict(states: Sequence[dict[str, Tensor]], target: dict[str, Tensor]) -> dict[str, Tensor]:
    """The state of K separate modules (a ``FusionModule`` each) as :class:`GroupedFusionModules`'
    ``target`` state: each tensor stacked on a new region axis, or concatenated on its first axis
    where the grouped tensor holds the K tensors end to end (the position embeddings ``(1, N, C)``,
    the batch norm over ``K * h`` heads); a counter (``num_batches_tracked``) is taken from the first.

    Raises:
        KeyError: a key of ``target`` is missing from one of ``states``.
        ValueError: a tensor's shape fits neither layout.
    """
    out = {}
    for key, like in target.items():
        parts = [state[key] for state in states]
        if like.dim() == 0:
            out[key] = parts[0].clone()
        elif like.shape == (len(parts), *parts[0].shape):
            out[key] = torch.stack(parts)
        elif like.shape[0] == len(parts) * parts[0].shape[0] and like.shape[1:] == parts[0].shape[1:]:
            out[key] = torch.cat(parts)
        else:
            raise ValueError(f"{key}: {len(parts)} tensors of shape {tuple(parts[0].shape)} do not make one of "
                             f"shape {tuple(like.shape)}")
    return out


def convert_loop_checkpoint(state: dict[str, Tensor], prefix: str, target: dict[str, Tensor]) -> None:
    """In place: replace the keys ``{prefix}<i>.<name>`` of K looped modules in ``state`` by the
    grouped keys ``{prefix}<name>`` of ``target`` (a :class:`GroupedFusionModules`' state dict, without
    the prefix). Leaves ``state`` as it is if it has no looped keys or they do not fit ``target``
    (``load_state_dict`` then names the keys that do not fit)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.(.+)")
    looped: dict[int, dict[str, Tensor]] = {}
    for key, value in state.items():
        match = pattern.fullmatch(key)
        if match:
            looped.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if not looped:
        return
    try:
        stacked = stack_state_dict([looped[i] for i in sorted(looped)], target)
    except (KeyError, ValueError):
        return  # not a checkpoint of this head: load_state_dict names the keys that do not fit
    for i, names in looped.items():
        for name in names:
            del state[f"{prefix}{i}.{name}"]
    state.update({prefix + key: value for key, value in stacked.items()})
