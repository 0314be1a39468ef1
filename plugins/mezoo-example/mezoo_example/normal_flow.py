"""The normal-flow displacement provider of the example plugin."""

from kornia.filters import gaussian_blur2d, spatial_gradient
import torch
from torch import Tensor

from mezoo.displacement import DisplacementProvider


class NormalFlow(DisplacementProvider):
    """Normal flow between onset and apex: ``D = -I_t * grad I / (|grad I|^2 + eps)``.

    The part of the motion along the brightness gradient, the only part the brightness constancy
    equation fixes at a pixel. Frames are turned to grey and smoothed first; where the gradient
    vanishes the estimate is unstable, so it is clamped to ``max_shift`` pixels.

    Shape:
        - onset, apex: ``(B, C, H, W)`` in ``[0, 1]``; mask: ``(B, 1, H, W)`` (1 = valid pixel);
          output: ``(B, 2, H, W)`` pixels, 0 outside the mask.
    """

    trainable = False

    def __init__(self, sigma: float = 1.5, eps: float = 1e-6, max_shift: float = 5.0):
        super().__init__()
        self.sigma = sigma
        self.eps = eps
        self.max_shift = max_shift

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        k = 2 * int(3 * self.sigma) + 1
        # sigma as a tensor on the frames' device: every tensor made here follows the inputs
        sigma = torch.full((1, 2), float(self.sigma), dtype=onset.dtype, device=onset.device)
        a = gaussian_blur2d(onset.mean(1, keepdim=True), (k, k), sigma)
        b = gaussian_blur2d(apex.mean(1, keepdim=True), (k, k), sigma)
        grad = spatial_gradient((a + b) / 2, normalized=False)[:, 0]  # (B, 2, H, W): d/dx, d/dy
        grad = grad / 8.0  # kornia's unnormalised Sobel is 8x the central difference
        it = b - a
        flow = -it * grad / (grad.pow(2).sum(1, keepdim=True) + self.eps)
        flow = flow.clamp(-self.max_shift, self.max_shift)
        return flow if mask is None else flow * mask
