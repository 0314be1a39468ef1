"""Patch embeddings of several regions at once (the first layer of every fusion module)."""

from __future__ import annotations

from torch import Tensor

from mezoo.fusion.grouped import GroupedLinear


class PatchEmbeds(GroupedLinear):
    """K independent patch embeddings (one per region), computed as one batched matrix product.

    Each region has its own linear map of a ``M x P x P`` patch to a C-vector, as a stride-P
    convolution would (and initialised like one); cutting the patches with a reshape and
    embedding all K regions in one batched product is ~30% faster on a CPU than K convolutions
    (and 2x faster than one grouped convolution: 55 vs 105 ms at batch 32).

    Shape:
        - input: ``(B, K, M, R, R)``; output: ``(B, K, N, C)`` with ``N = (R / P)^2``, patches
          row by row.
    """

    def __init__(self, num_regions: int, in_channels: int, patch_size: int, dim: int):
        # K linear maps of M x P x P values, initialised per region as nn.Conv2d (and nn.Linear) are
        super().__init__(num_regions, in_channels * patch_size * patch_size, dim)
        self.patch_size = patch_size

    def forward(self, x: Tensor) -> Tensor:
        return self.grouped(x).transpose(0, 1)

    def grouped(self, x: Tensor) -> Tensor:
        """The embeddings laid out region first, ``(K, B, N, C)`` contiguous (what
        :meth:`forward` returns transposed, without a copy).

        The patches are cut straight into the ``(K, B * N, M * P * P)`` layout of one batched
        product: one copy of the input instead of two (cutting ``(B, K, N, ...)`` patches and
        letting ``einsum`` move the region axis first cost 22 + 17 ms of a 145 ms Fu-B forward at
        batch 32 on 2 CPU cores).
        """
        b, k, m, h, w = x.shape
        p = self.patch_size
        patches = x.reshape(b, k, m, h // p, p, w // p, p).permute(1, 0, 3, 5, 2, 4, 6)
        patches = patches.reshape(k, b * (h // p) * (w // p), m * p * p)
        return super().forward(patches).view(k, b, (h // p) * (w // p), -1)
