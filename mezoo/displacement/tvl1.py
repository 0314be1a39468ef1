"""Dense optical flow by the Dual TV-L1 method (Zach, Pock and Bischof 2007; OpenCV's contrib
``optflow`` module), the flow most micro-expression papers and their code compute.

The defaults keep one 224 x 224 pair near 0.3 s on 2 CPU cores: three pyramid levels halving the
size (``nscales=3, scale_step=0.5``) and three warps per level, where OpenCV's own defaults (five
levels of 0.8, five warps) take about four times as long for sub-pixel motion that a coarser
pyramid resolves as well (a face's micro-motions are at most a few pixels). The other parameters
are OpenCV's: ``tau`` 0.25, ``lambda_`` 0.15 (the data term's weight), ``theta`` 0.3, ``epsilon``
0.01, 30 inner and 10 outer iterations, ``gamma`` 0 and a 5 x 5 median filter.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mezoo.displacement.base import DisplacementProvider
from mezoo.displacement.farneback import _grey_uint8
from mezoo.errors import ConfigError

#: how to get the contrib build when cv2 lacks ``optflow``
CONTRIB = ("the tvl1 provider needs OpenCV's contrib build (cv2.optflow), and this cv2 ({version}) has no optflow: "
           "pip uninstall -y opencv-python-headless opencv-python && pip install opencv-contrib-python-headless "
           "(never two OpenCV wheels in one environment)")


def _optflow():
    import cv2

    if not hasattr(cv2, "optflow") or not hasattr(cv2.optflow, "DualTVL1OpticalFlow_create"):
        raise ConfigError(CONTRIB.format(version=cv2.__version__))
    return cv2.optflow


def tvl1_flow(onset: Tensor, apex: Tensor, tau: float = 0.25, lambda_: float = 0.15, theta: float = 0.3,
              nscales: int = 3, warps: int = 3, epsilon: float = 0.01, inner_iterations: int = 30,
              outer_iterations: int = 10, scale_step: float = 0.5, gamma: float = 0.0, median_filtering: int = 5,
              mask: Tensor | None = None) -> Tensor:
    """Dual TV-L1 optical flow from onset to apex, per sample.

    Args:
        onset, apex: ``(B, C, H, W)`` in ``[0, 1]``, ``C`` = 1 or 3 (colour is turned to luminance).
        mask: ``(B, 1, H, W)``, 1 where the pixels are real; the flow is 0 elsewhere.
        The rest are ``cv2.optflow.DualTVL1OpticalFlow``'s parameters (the module docstring).

    Returns:
        ``(B, 2, H, W)`` float32 flow in pixels on the input's device: the onset pixel at
        ``(x, y)`` is found at ``(x + D[0], y + D[1])`` in the apex.

    Raises:
        ConfigError: cv2 is not OpenCV's contrib build.

    Example:
        >>> x = torch.rand(1, 1, 64, 64)
        >>> tvl1_flow(x, x).shape
        torch.Size([1, 2, 64, 64])
    """
    flow = _optflow().DualTVL1OpticalFlow_create(tau, lambda_, theta, nscales, warps, epsilon, inner_iterations,
                                                 outer_iterations, scale_step, gamma, median_filtering)
    a, b = _grey_uint8(onset), _grey_uint8(apex)
    flows = [flow.calc(a[i], b[i], None) for i in range(a.shape[0])]
    out = torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()
    out = out.to(device=onset.device, dtype=torch.float32)
    return out if mask is None else out * mask


class TVL1(DisplacementProvider):
    """Dual TV-L1 optical flow as a displacement provider (the flow of most micro-expression papers).

    Not trainable: mezoo computes it once per sample and caches it, like Farneback. Options are
    those of :func:`tvl1_flow`; a bad one is refused in one line when the provider is built.

    Raises:
        ConfigError: an option out of range, or cv2 without the contrib ``optflow`` module.
    """

    def __init__(self, tau: float = 0.25, lambda_: float = 0.15, theta: float = 0.3, nscales: int = 3,
                 warps: int = 3, epsilon: float = 0.01, inner_iterations: int = 30, outer_iterations: int = 10,
                 scale_step: float = 0.5, gamma: float = 0.0, median_filtering: int = 5):
        super().__init__()
        _optflow()
        positive = dict(tau=tau, lambda_=lambda_, theta=theta, epsilon=epsilon)
        counts = dict(nscales=nscales, warps=warps, inner_iterations=inner_iterations,
                      outer_iterations=outer_iterations)
        for name, value in positive.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"displacement.tvl1.{name} is {value!r}; it must be a number above 0")
        for name, value in counts.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"displacement.tvl1.{name} is {value!r}; it must be a whole number of at least 1")
        if not isinstance(scale_step, (int, float)) or not 0 < scale_step < 1:
            raise ConfigError(f"displacement.tvl1.scale_step is {scale_step!r}; it must be between 0 and 1 (each "
                              f"pyramid level's size over the one below)")
        if not isinstance(median_filtering, int) or median_filtering < 1 or median_filtering % 2 == 0:
            raise ConfigError(f"displacement.tvl1.median_filtering is {median_filtering!r}; it must be an odd "
                              f"whole number (1: no median filter)")
        self.params = dict(tau=float(tau), lambda_=float(lambda_), theta=float(theta), nscales=nscales, warps=warps,
                           epsilon=float(epsilon), inner_iterations=inner_iterations,
                           outer_iterations=outer_iterations, scale_step=float(scale_step), gamma=float(gamma),
                           median_filtering=median_filtering)

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        return tvl1_flow(onset, apex, **self.params, mask=mask)
