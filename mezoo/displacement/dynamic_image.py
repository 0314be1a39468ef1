"""Dynamic images by approximate rank pooling (Bilen et al., CVPR 2016), paper Table 2, M2."""

from __future__ import annotations

import torch
from torch import Tensor

from mezoo.displacement.base import DisplacementProvider


def harmonic(n: int) -> float:
    """The n-th harmonic number ``H_n = 1 + 1/2 + ... + 1/n`` (``H_0 = 0``)."""
    return sum(1.0 / i for i in range(1, n + 1))


def rank_pooling_coefficients(length: int, device: torch.device | str | None = None) -> Tensor:
    """Approximate rank pooling weights ``alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1})``, t = 1..T.

    Returns:
        ``(T,)`` float64 on ``device`` (default: torch's default device). They sum to zero; the
        first is the most negative, the last positive.

    Example:
        >>> rank_pooling_coefficients(2)
        tensor([-0.5000,  0.5000], dtype=torch.float64)
    """
    t_len = length
    h_t = harmonic(t_len)
    return torch.tensor(
        [2.0 * (t_len - t + 1) - (t_len + 1) * (h_t - harmonic(t - 1)) for t in range(1, t_len + 1)],
        dtype=torch.float64, device=device,
    )


def dynamic_image(frames: Tensor, mask: Tensor | None = None) -> Tensor:
    """The dynamic image of a clip: ``sum_t alpha_t * frame_t``.

    Args:
        frames: ``(B, T, C, H, W)``.
        mask: ``(B, 1, H, W)``, 1 where the pixels are real: the output is 0 elsewhere and the
            scale is taken over the valid pixels only.

    Returns:
        ``(B, C, H, W)``, divided per sample by its root-mean-square value. (Scaling by the
        largest value instead leaves a subtle clip's dynamic image near zero almost everywhere,
        and a classifier then learns nothing from it.)
    """
    alpha = rank_pooling_coefficients(frames.shape[1], frames.device).to(frames.dtype)
    d = torch.einsum("t,btchw->bchw", alpha, frames)
    if mask is None:
        rms = d.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()
    else:
        d = d * mask
        valid = mask.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1.0) * d.shape[1]
        rms = (d.pow(2).sum(dim=(1, 2, 3), keepdim=True) / valid).sqrt()
    return d / (rms + 1e-8)


class DynamicImage(DisplacementProvider):
    """The dynamic image of the frames from the onset to the apex, in place of a displacement.

    Its channels are those of the frames (3 in colour, 1 in grey). Deterministic: computed once
    per sample and cached.
    """

    uses_sequence = True
    vector_field = False
    cache_version = "3"  # 2: scaled by the RMS, no longer by the maximum; 3: zero outside the mask

    def out_channels(self, frame_channels: int) -> int:
        return frame_channels

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        return dynamic_image(torch.stack([onset, apex], dim=1), mask)

    def from_sequence(self, frames: Tensor, mask: Tensor | None = None) -> Tensor:
        return dynamic_image(frames, mask)
