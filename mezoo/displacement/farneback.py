"""Dense optical flow by Farneback's polynomial expansion (OpenCV), ablation M0 of the paper."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from kornia.color import rgb_to_grayscale
from torch import Tensor

from mezoo.displacement.base import DisplacementProvider


def _grey_uint8(frames: Tensor) -> np.ndarray:
    """``(B, C, H, W)`` floats in [0, 1] -> ``(B, H, W)`` uint8 luminance."""
    if frames.shape[1] == 3:
        frames = rgb_to_grayscale(frames)
    return (frames[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def farneback_flow(
    onset: Tensor,
    apex: Tensor,
    pyr_scale: float = 0.5,
    levels: int = 3,
    winsize: int = 15,
    iterations: int = 3,
    poly_n: int = 5,
    poly_sigma: float = 1.2,
    mask: Tensor | None = None,
) -> Tensor:
    """Farneback optical flow from onset to apex, per sample.

    Args:
        onset, apex: ``(B, C, H, W)`` in ``[0, 1]``, ``C`` = 1 or 3 (colour is turned to luminance).
        mask: ``(B, 1, H, W)``, 1 where the pixels are real; the flow is 0 elsewhere.
        The rest are ``cv2.calcOpticalFlowFarneback``'s parameters.

    Returns:
        ``(B, 2, H, W)`` float32 flow in pixels on the input's device: the onset pixel at
        ``(x, y)`` is found at ``(x + D[0], y + D[1])`` in the apex.

    Example:
        >>> x = torch.rand(1, 1, 64, 64)
        >>> farneback_flow(x, x).shape
        torch.Size([1, 2, 64, 64])
    """
    a, b = _grey_uint8(onset), _grey_uint8(apex)
    flows = [
        cv2.calcOpticalFlowFarneback(a[i], b[i], None, pyr_scale, levels, winsize, iterations,
                                     poly_n, poly_sigma, 0)
        for i in range(a.shape[0])
    ]
    out = torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()
    out = out.to(device=onset.device, dtype=torch.float32)
    return out if mask is None else out * mask


class Farneback(DisplacementProvider):
    """Farneback optical flow as a displacement provider (paper Table 2, M0: "OpticalFlow").

    Not trainable: mezoo computes it once per sample. Options are those of
    :func:`farneback_flow`.
    """

    trainable = False
    cache_version = "2"  # 2: zero outside the validity mask

    def __init__(self, pyr_scale: float = 0.5, levels: int = 3, winsize: int = 15, iterations: int = 3,
                 poly_n: int = 5, poly_sigma: float = 1.2):
        super().__init__()
        self.params = dict(pyr_scale=pyr_scale, levels=levels, winsize=winsize, iterations=iterations,
                           poly_n=poly_n, poly_sigma=poly_sigma)

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        return farneback_flow(onset, apex, **self.params, mask=mask)
