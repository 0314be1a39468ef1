"""Geometric augmentation that keeps frames, displacement and landmarks consistent (kornia, on device).

A horizontal flip mirrors the frames, negates the x component of a displacement and renumbers the
68 landmarks through their mirror pairs, so that ``au1_left`` is still the box on the image's
left after the flip. A rotation, scaling and translation warps every channel alike, moves the
landmarks with the same matrix and rotates and scales the displacement vectors by its linear
part. Channels that are not vectors (a dynamic image) are only warped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from kornia.filters import gaussian_blur2d
from kornia.geometry.transform import get_rotation_matrix2d, warp_affine
from torch import Tensor

from mezoo.face.template import MIRROR_68

MIRROR = torch.tensor(MIRROR_68)


def hflip(stack: Tensor, landmarks: Tensor, vector: slice | None, flip: Tensor) -> tuple[Tensor, Tensor]:
    """Mirror the samples where ``flip`` is true.

    Args:
        stack: ``(B, M, H, W)`` channels (frames and displacement).
        landmarks: ``(B, 68, 2)`` pixels.
        vector: the channels of ``stack`` holding an (x, y) displacement, or ``None``.
        flip: ``(B,)`` bool.

    Returns:
        The stack and landmarks, mirrored where asked.
    """
    if not flip.any():
        return stack, landmarks
    w = stack.shape[-1]
    mirrored = stack.flip(-1)
    if vector is not None:
        mirrored[:, vector.start] = -mirrored[:, vector.start]
    lm = landmarks[:, MIRROR.to(landmarks.device)].clone()
    lm[..., 0] = (w - 1) - lm[..., 0]
    sel = flip[:, None, None, None]
    return torch.where(sel, mirrored, stack), torch.where(flip[:, None, None], lm, landmarks)


def affine(stack: Tensor, landmarks: Tensor, vector: slice | None, angle: Tensor, scale: Tensor,
           shift: Tensor) -> tuple[Tensor, Tensor]:
    """Rotate by ``angle`` degrees and scale by ``scale`` about the centre, then shift by ``shift`` px.

    Args:
        angle, scale: ``(B,)``; shift: ``(B, 2)``.

    Returns:
        The warped stack (borders replicated) and the moved landmarks; displacement vectors are
        rotated and scaled with the image.
    """
    b, _, h, w = stack.shape
    centre = torch.tensor([[(w - 1) / 2, (h - 1) / 2]], dtype=stack.dtype, device=stack.device).expand(b, 2)
    matrix = get_rotation_matrix2d(centre, angle, torch.stack([scale, scale], -1))  # (B, 2, 3)
    matrix = torch.cat([matrix[..., :2], matrix[..., 2:] + shift[..., None]], dim=-1)
    out = warp_affine(stack, matrix, (h, w), mode="bilinear", padding_mode="border", align_corners=True)
    if vector is not None:
        linear = matrix[..., :2]  # (B, 2, 2)
        d = out[:, vector]
        out = out.clone()
        out[:, vector] = torch.einsum("bij,bjhw->bihw", linear, d)
    lm = torch.einsum("bij,bnj->bni", matrix[..., :2], landmarks) + matrix[:, None, :, 2]
    return out, lm


class Augment:
    """Random flips and small similarity transforms for a training batch, from a seeded generator.

    Args:
        hflip: probability of a horizontal flip.
        rotate: largest rotation in degrees (uniform in ``[-rotate, rotate]``).
        scale: largest relative change of size (uniform in ``[1 - scale, 1 + scale]``).
        translate: largest shift as a fraction of the image size.
    """

    def __init__(self, hflip: float = 0.5, rotate: float = 5.0, scale: float = 0.05, translate: float = 0.03):
        self.p_flip = hflip
        self.rotate = rotate
        self.scale = scale
        self.translate = translate

    @property
    def active(self) -> bool:
        return bool(self.p_flip or self.rotate or self.scale or self.translate)

    def __call__(self, stack: Tensor, landmarks: Tensor, vector: slice | None,
                 generator: torch.Generator) -> tuple[Tensor, Tensor]:
        b, _, h, w = stack.shape

        def uniform(*size: int) -> Tensor:
            drawn = torch.rand(*size, generator=generator, device=generator.device)
            return (drawn * 2 - 1).to(stack.device, stack.dtype)

        flip = (torch.rand(b, generator=generator, device=generator.device) < self.p_flip).to(stack.device)
        stack, landmarks = hflip(stack, landmarks, vector, flip)
        if self.rotate or self.scale or self.translate:
            shift = uniform(b, 2) * self.translate * torch.tensor([w, h], dtype=stack.dtype, device=stack.device)
            stack, landmarks = affine(stack, landmarks, vector, uniform(b) * self.rotate,
                                      1 + uniform(b) * self.scale, shift)
        return stack, landmarks


class Augmentation(ABC):
    """Base class of augmentations registered through ``register_augmentations``.

    Called on a training batch after the geometric augmentation, with everything on the device.

    Shape:
        - onset, apex: ``(B, C, H, W)`` in [0, 1]; landmarks ``(B, 68, 2)``.
        - displacement: ``(B, D, H, W)`` or ``None`` (a trainable provider computes it later);
          ``vector`` says whether it is an (x, y) field.
    """

    @abstractmethod
    def __call__(self, onset: Tensor, apex: Tensor, displacement: Tensor | None, landmarks: Tensor, vector: bool,
                 generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        """The augmented ``(onset, apex, displacement, landmarks)``."""


class MotionMagnification(Augmentation):
    """Linear Eulerian motion magnification of the onset -> apex change (Wu et al., SIGGRAPH 2012).

    Weights-free, in place of the paper's learned MagNet: ``apex' = apex + a * G(apex - onset)``
    with ``G`` a Gaussian low-pass of width ``sigma``. For motions small against the image's
    texture this moves every pixel ``1 + a`` times as far, so a vector displacement is scaled by
    ``1 + a`` to match. Each sample is magnified with probability ``p``, with ``a`` uniform in
    ``alpha``.
    """

    def __init__(self, p: float = 0.5, alpha: tuple[float, float] = (1.0, 3.0), sigma: float = 1.0):
        self.p = p
        self.alpha = (float(alpha[0]), float(alpha[1]))
        self.sigma = sigma

    def __call__(self, onset: Tensor, apex: Tensor, displacement: Tensor | None, landmarks: Tensor, vector: bool,
                 generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        b = onset.shape[0]
        on = (torch.rand(b, generator=generator, device=generator.device) < self.p).to(onset.device)
        low, high = self.alpha
        drawn = torch.rand(b, generator=generator, device=generator.device)
        amount = (low + (high - low) * drawn).to(onset.device, onset.dtype)
        amount = amount * on
        k = 2 * int(3 * self.sigma) + 1
        sigma = torch.full((1, 2), float(self.sigma), dtype=apex.dtype, device=apex.device)
        change = gaussian_blur2d(apex - onset, (k, k), sigma)
        magnified = (apex + amount[:, None, None, None] * change).clamp(0, 1)
        apex = torch.where(on[:, None, None, None], magnified, apex)
        if displacement is not None and vector:
            displacement = displacement * (1 + amount)[:, None, None, None]
        return onset, apex, displacement, landmarks
