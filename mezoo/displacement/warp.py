"""Warping images by a displacement field, the DGM losses (paper eq. 1-4), and a self-supervised
loss robust to lighting for fine-tuning a pre-trained DGM (:func:`robust_loss`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale
from kornia.geometry.transform import remap
from kornia.geometry import create_meshgrid
from torch import Tensor, nn


def luminance(frames: Tensor) -> Tensor:
    """``(B, 1, H, W)``: the frames' luminance (kornia's weights), or the frames if they are grey."""
    return frames if frames.shape[1] == 1 else rgb_to_grayscale(frames)


def warp_by_displacement(image: Tensor, displacement: Tensor) -> Tensor:
    """Move the content of ``image`` by ``displacement`` pixels (differentiable, bilinear, kornia).

    The pixel at ``(x, y)`` ends up near ``(x + D_x, y + D_y)``: the output samples the input at
    ``(x, y) - D(x, y)``, the usual backward approximation of that forward motion for smooth,
    small D. Outside the image reads as the border value.

    Args:
        image: ``(B, C, H, W)``.
        displacement: ``(B, 2, H, W)`` pixels, channel 0 x and channel 1 y.

    Returns:
        ``(B, C, H, W)``.

    Example:
        >>> img = torch.rand(1, 1, 8, 8)
        >>> torch.allclose(warp_by_displacement(img, torch.zeros(1, 2, 8, 8)), img, atol=1e-5)
        True
    """
    b, _, h, w = image.shape
    grid = create_meshgrid(h, w, normalized_coordinates=False, device=image.device, dtype=image.dtype)
    grid = grid.expand(b, h, w, 2)
    source = grid - displacement.permute(0, 2, 3, 1)
    return remap(image, source[..., 0], source[..., 1], mode="bilinear", padding_mode="border",
                 align_corners=True, normalized_coordinates=False)


class DisplacementWarp(nn.Module):
    """Module form of :func:`warp_by_displacement`."""

    def forward(self, image: Tensor, displacement: Tensor) -> Tensor:
        return warp_by_displacement(image, displacement)


def masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """The mean of ``values`` ``(B, C, H, W)`` over the pixels where ``mask`` ``(B, 1, H, W)`` is 1
    (and over channels and the batch); the plain mean when ``mask`` is ``None``."""
    if mask is None:
        return values.mean()
    weight = mask.expand_as(values)
    return (values * weight).sum() / weight.sum().clamp_min(1.0)


def normalization_loss(displacement: Tensor, mask: Tensor | None = None) -> Tensor:
    """L_nm (eq. 2): the mean absolute displacement over the valid pixels (both channels, the batch)."""
    return masked_mean(displacement.abs(), mask)


def smoothness_loss(displacement: Tensor, mask: Tensor | None = None, edges: Tensor | None = None,
                    falloff: float = 10.0) -> Tensor:
    """L_sm (eq. 3): mean |dD/dx| over h x (w - 1) neighbours plus mean |dD/dy| over (h - 1) x w,
    counting only neighbours that are both valid (``mask`` ``(B, 1, H, W)``, 1 = valid). With
    ``edges`` (an image ``(B, 1, H, W)``), edge-aware: each difference weighted by
    ``exp(-falloff |the image's difference|)``, so the field may change at an image edge."""
    dx = (displacement[..., :, 1:] - displacement[..., :, :-1]).abs()
    dy = (displacement[..., 1:, :] - displacement[..., :-1, :]).abs()
    if edges is not None:
        dx = dx * torch.exp(-falloff * (edges[..., :, 1:] - edges[..., :, :-1]).abs())
        dy = dy * torch.exp(-falloff * (edges[..., 1:, :] - edges[..., :-1, :]).abs())
    if mask is None:
        return dx.mean() + dy.mean()
    return masked_mean(dx, mask[..., :, 1:] * mask[..., :, :-1]) + masked_mean(dy, mask[..., 1:, :] * mask[..., :-1, :])


def reconstruction_loss(onset: Tensor, apex: Tensor, displacement: Tensor, mask: Tensor | None = None) -> Tensor:
    """L_rec (eq. 1): mean |G_s(F_onset, D) - F_apex| with ``D`` in pixels.

    With ``mask`` ``(B, 1, H, W)`` (1 = the pixel comes from the source image), only pixels that
    are valid in the apex *and* whose warped onset sample is valid count: a pixel moved in from
    outside the image has nothing to be compared with.
    """
    if mask is not None:
        mask = mask * (warp_by_displacement(mask, displacement) > 0.999).to(mask.dtype)
    return masked_mean((warp_by_displacement(onset, displacement) - apex).abs(), mask)


def per_sample_normalize(displacement: Tensor, mask: Tensor | None = None, eps: float = 1e-6) -> Tensor:
    """Divide each sample's displacement by its root-mean-square magnitude over its valid pixels.

    The normalisation FRL-DGT applies before output (paper sec. 3.1): subtle motions are
    amplified and large ones damped, so every sample reaches the classifier at the same scale.
    Used by ``dgm`` and ``of_norm``. With ``mask``, the RMS is taken over the valid pixels only
    and the output is 0 elsewhere, so pixels outside the source image can neither inflate the
    scale nor carry motion.

    Shape:
        - displacement: ``(B, 2, H, W)``; mask: ``(B, 1, H, W)``, 1 = valid.
        - output: ``(B, 2, H, W)``; each sample has an RMS magnitude of 1 over its valid pixels.

    Example:
        >>> d = torch.zeros(1, 2, 4, 4); d[:, 0, :, :2] = 3.0; d[:, 0, :, 2:] = 100.0
        >>> mask = torch.zeros(1, 1, 4, 4); mask[..., :2] = 1
        >>> per_sample_normalize(d, mask)[0, 0, 0]
        tensor([1.0000, 1.0000, 0.0000, 0.0000])
    """
    square = displacement.pow(2).sum(1, keepdim=True)
    if mask is None:
        mean_square = square.mean((2, 3), keepdim=True)
    else:
        displacement = displacement * mask
        mean_square = (square * mask).sum((2, 3), keepdim=True) / mask.sum((2, 3), keepdim=True).clamp_min(1.0)
    # The clamp changes nothing above 1e-30 but keeps sqrt's gradient finite for an all-zero
    # displacement (a DGM at initialisation without self-supervised warm-up, ablation M3),
    # where it would be infinite and the loss NaN.
    rms = mean_square.clamp_min(1e-30).sqrt()
    return displacement / (rms + eps)


class GradScale(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``scale`` on the way back."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """``x`` unchanged, with the gradient that flows back through it multiplied by ``scale``."""
    return GradScale.apply(x, scale)


#: Census window radius (a 7 x 7 window) and the soft sign's scale, in grey levels of 0-255.
CENSUS_RADIUS = 3
CENSUS_SOFTNESS = 0.81
#: Edge-aware smoothness: weight of the term, and how fast image edges release the flow.
EDGE_SMOOTHNESS = 0.05
EDGE_FALLOFF = 10.0


def census(grey: Tensor, radius: int = CENSUS_RADIUS) -> Tensor:
    """The soft ternary census transform of ``grey`` ``(B, 1, H, W)`` in ``[0, 1]``: for each
    of the ``(2r + 1)^2`` neighbours, ``d / sqrt(s + d^2)`` of its difference ``d`` to the centre
    (in grey levels, ``s`` = :data:`CENSUS_SOFTNESS`): about the sign of the difference, so a gain
    or an offset in brightness leaves it unchanged. Returns ``(B, (2r + 1)^2, H, W)``."""
    b, _, h, w = grey.shape
    k = 2 * radius + 1
    neighbours = F.unfold(grey * 255.0, k, padding=radius).view(b, k * k, h, w)
    diff = neighbours - grey * 255.0
    return diff / torch.sqrt(CENSUS_SOFTNESS + diff**2)


def robust_loss(onset: Tensor, apex: Tensor, displacement: Tensor, mask: Tensor | None = None) -> Tensor:
    """A self-supervised loss for fine-tuning a pre-trained DGM on a dataset's own frame pairs,
    robust where ``L_DGM`` is not (fine-tuning with ``L_DGM`` made an accurate DGM worse):

    - **photometric, robust to lighting**: the distance between the census transforms
      (:func:`census`) of the warped onset and the apex, ``sum (c1 - c2)^2 / (0.1 + (c1 - c2)^2)``
      over the window, through the generalised Charbonnier penalty ``(x + 0.01)^0.4``; a change of
      gain or offset (flicker, a lighting change) does not count as a difference;
    - **edge-aware smoothness**: the flow's first differences (pixels) weighted by
      ``exp(-10 |image difference|)``, so the field may change at an image edge but not in flat
      skin (weight :data:`EDGE_SMOOTHNESS`);
    - **validity**: only pixels valid in the apex (``mask``) whose warped onset sample came from
      inside the image and from valid pixels count, and the census window's border is left out.

    No magnitude penalty (``L_nm`` pulls every field towards no motion).
    """
    first, second = luminance(onset), luminance(apex)
    valid = sampled_inside(displacement)
    if mask is not None:
        valid = valid * mask * (warp_by_displacement(mask, displacement) > 0.999).to(mask.dtype)
    r = CENSUS_RADIUS
    valid = valid * F.pad(torch.ones_like(valid[..., r:-r, r:-r]), (r, r, r, r))
    diff = (census(warp_by_displacement(first, displacement)) - census(second)) ** 2
    distance = (diff / (0.1 + diff)).sum(1, keepdim=True)
    photometric = masked_mean((distance + 0.01) ** 0.4, valid)
    return photometric + EDGE_SMOOTHNESS * smoothness_loss(displacement, valid, edges=second, falloff=EDGE_FALLOFF)


def sampled_inside(displacement: Tensor) -> Tensor:
    """``(B, 1, H, W)``: 1 where :func:`warp_by_displacement` samples inside the image (``(x, y) -
    D(x, y)`` within its pixels), 0 where it would read the replicated border."""
    _, _, h, w = displacement.shape
    grid = create_meshgrid(h, w, normalized_coordinates=False, device=displacement.device, dtype=displacement.dtype)
    source = grid.permute(0, 3, 1, 2) - displacement
    inside = (source[:, :1] >= 0) & (source[:, :1] <= w - 1) & (source[:, 1:] >= 0) & (source[:, 1:] <= h - 1)
    return inside.to(displacement.dtype)
