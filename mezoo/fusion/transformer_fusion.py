"""FRL-DGT's Transformer fusion: local (per AU), global (over AUs) and full-face fusion modules.

Paper sec. 3.2.2 and Fig. 2. Each module is an Attn block followed by a fusion layer. The switches
``use_local``, ``use_global`` and ``use_full_face`` give the ablation rows M7, M8 and M6:

- without local fusion (M7) the patches of all regions go straight to the global module;
- without global fusion (M8) the K local vectors are averaged;
- without full-face fusion (M6) only the region stream reaches the classifier.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from mezoo.fusion.attention import AttnBlock, trunc_normal_
from mezoo.errors import ConfigError
from mezoo.fusion.base import FusionHead, check_sizes
from mezoo.fusion.fusion_layer import LinearFusionAfterAttention, LinearFusionBeforeAttention
from mezoo.fusion.grouped import GroupedFusionModules, convert_loop_checkpoint
from mezoo.fusion.patch_embed import PatchEmbeds

FUSION_LAYERS: dict[str, type[nn.Module]] = {
    "before": LinearFusionBeforeAttention,
    "after": LinearFusionAfterAttention,
}


class FusionModule(nn.Module):
    """Learned position embedding, an Attn block, LayerNorm, then a fusion layer.

    Shape:
        - input: ``(B, N, C)`` tokens; output: ``(B, C)``.
    """

    def __init__(self, dim: int, num_tokens: int, num_heads: int, depth: int, mlp_ratio: float,
                 dropout: float, fusion: str):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, num_tokens, dim))
        trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = AttnBlock(dim, num_heads, depth, mlp_ratio, dropout)
        self.norm = nn.LayerNorm(dim)
        self.fuse = FUSION_LAYERS[fusion](dim, num_tokens, num_heads)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.fuse(self.norm(self.blocks(tokens + self.pos_embed)))


def _load_looped_local(head: TransformerFusion, state: dict[str, Tensor], prefix: str, *args: object) -> None:
    """Checkpoints saved before the local modules were grouped hold ``local.<k>.<name>``."""
    convert_loop_checkpoint(state, prefix + "local.", head.local.state_dict())


class TransformerFusion(FusionHead):
    """Local, global and full-face Transformer fusion (the classifier of FRL-DGT).

    Args:
        in_channels: M, channels of every crop (onset + apex + displacement).
        num_classes: output classes.
        num_regions: K regions (9 AUs, or 9 grid cells for M5).
        region_size: R, side of each region crop; divisible by ``patch_size``.
        face_size: S, side of the full-face input; divisible by ``patch_size``.
        embed_dim: C (paper: 256).
        num_heads: h for attention and fusion layers (paper: 8).
        patch_size: P (paper: 18, so N = 25 patches per 90 x 90 region).
        local_depth, global_depth, face_depth: Transformer layers in each module's Attn block.
        use_local, use_global, use_full_face: switches for ablations M7, M8, M6.

    Shape:
        - regions: ``(B, K, M, R, R)``; face: ``(B, M, S, S)``; output: ``(B, num_classes)``.
    """

    fusion_layer: ClassVar[str] = "before"

    def __init__(self, in_channels: int, num_classes: int, num_regions: int = 9, region_size: int = 90,
                 face_size: int = 90, embed_dim: int = 256, num_heads: int = 8, patch_size: int = 18,
                 local_depth: int = 1, global_depth: int = 1, face_depth: int = 1, mlp_ratio: float = 4.0,
                 dropout: float = 0.1, use_local: bool = True, use_global: bool = True,
                 use_full_face: bool = True):
        super().__init__()
        check_sizes(region_size, face_size, patch_size, embed_dim, num_heads)
        if not (use_local or use_global) and not use_full_face:
            raise ConfigError("nothing left to classify: enable local, global or full-face fusion")
        self.use_local, self.use_global, self.use_full_face = use_local, use_global, use_full_face
        self.uses_regions = use_local or use_global
        self.num_regions = num_regions
        n_patches = (region_size // patch_size) ** 2
        common = dict(num_heads=num_heads, mlp_ratio=mlp_ratio, dropout=dropout, fusion=self.fusion_layer)
        streams = 0
        if self.uses_regions:
            self.region_embed = PatchEmbeds(num_regions, in_channels, patch_size, embed_dim)
            if use_local:  # K modules computed as one (mezoo/fusion/grouped.py)
                self.local = GroupedFusionModules(
                    num_regions, embed_dim, n_patches, depth=local_depth, **common,
                    make_module=lambda: FusionModule(embed_dim, n_patches, depth=local_depth, **common))
                self.register_load_state_dict_pre_hook(_load_looped_local)
            if use_global:
                tokens = num_regions if use_local else num_regions * n_patches
                self.global_ = FusionModule(embed_dim, tokens, depth=global_depth, **common)
            streams += 1
        if use_full_face:
            self.face_embed = PatchEmbeds(1, in_channels, patch_size, embed_dim)
            self.face = FusionModule(embed_dim, (face_size // patch_size) ** 2, depth=face_depth, **common)
            streams += 1
        #: length of :meth:`features`: C per stream (regions, full face)
        self.feature_dim = streams * embed_dim
        self.classifier = nn.Sequential(
            nn.LayerNorm(self.feature_dim),
            nn.Linear(self.feature_dim, embed_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(embed_dim, num_classes),
        )

    def region_vector(self, regions: Tensor) -> Tensor:
        """``(B, K, M, R, R)`` -> ``(B, C)``: local then global fusion (or their ablations)."""
        tokens = self.region_embed(regions)  # (B, K, N, C)
        if self.use_local:
            local = self.local(tokens)  # (B, K, C)
            return self.global_(local) if self.use_global else local.mean(1)
        return self.global_(tokens.flatten(1, 2))

    def features(self, regions: Tensor | None, face: Tensor) -> Tensor:
        """The fused vector before the classifier: ``(B, feature_dim)``, regions then full face."""
        parts = []
        if self.uses_regions:
            if regions is None:
                raise ValueError("this fusion head needs region crops")
            parts.append(self.region_vector(regions))
        if self.use_full_face:
            parts.append(self.face(self.face_embed(face[:, None])[:, 0]))
        return torch.cat(parts, dim=1)

    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        return self.classifier(self.features(regions, face))

    def fusion_weights(self) -> dict[str, Tensor]:
        """Softmax weights of each fusion layer from the last forward pass (Fu-B-Attn only).

        Returns:
            ``{"local/<k>": (B, h, N), "global": (B, h, K), "face": (B, h, N_face)}`` for the
            modules present.
        """
        out: dict[str, Tensor] = {}
        if self.use_local and self.local.last_weights is not None:
            for i in range(self.num_regions):
                out[f"local/{i}"] = self.local.last_weights[:, i]
        for name in ("global_", "face"):
            module = getattr(self, name, None)
            if module is not None and module.fuse.last_weights is not None:
                out[name.rstrip("_")] = module.fuse.last_weights
        return out


class FuBAttn(TransformerFusion):
    """FRL-DGT's Transformer fusion with the "linear fusion before attention" layer (the paper's)."""

    fusion_layer = "before"


class FuAAttn(TransformerFusion):
    """The same fusion with ordinary attention then a linear map (ablation M4, "Fu-A-Attn")."""

    fusion_layer = "after"
