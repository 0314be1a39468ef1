"""Farneback optical flow normalised per sample as the DGM normalises (paper Table 2, M1: OF+NORM)."""

from __future__ import annotations

from torch import Tensor

from mezoo.displacement.farneback import Farneback
from mezoo.displacement.warp import per_sample_normalize


class OFNorm(Farneback):
    """Farneback flow divided by its per-sample RMS magnitude over the valid pixels (see
    ``per_sample_normalize``).

    Options are those of :class:`~mezoo.displacement.farneback.Farneback`.
    """

    in_pixels = False

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        return per_sample_normalize(super().forward(onset, apex, mask), mask)
