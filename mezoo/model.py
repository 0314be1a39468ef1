"""FRL-DGT as a whole: a displacement provider, region cropping and a fusion head."""

from __future__ import annotations

import torch
from kornia.geometry.transform import resize
from torch import Tensor, nn

from mezoo.displacement.base import DisplacementProvider
from mezoo.face.au_regions import crop_regions, region_boxes
from mezoo.fusion.base import FusionHead


class FRLDGT(nn.Module):
    """Onset + apex (+ landmarks) -> class logits.

    The input of the fusion head is the channel stack ``[onset, apex, D]`` (paper sec. 3.2),
    cut into the regions of ``regions`` (``au9`` or ``grid3x3``) at ``region_size`` and resized
    whole to ``full_face_size``.

    Args:
        displacement: the provider of ``D``. A non-trainable one may be skipped by passing
            a precomputed ``displacement`` to :meth:`forward`.
        fusion: the fusion head.

    Shape:
        - onset, apex: ``(B, C, H, W)`` in ``[0, 1]``; landmarks: ``(B, 68, 2)`` pixels;
          displacement (optional): ``(B, 2, H, W)``.
        - output: ``(B, num_classes)``.
    """

    def __init__(self, displacement: DisplacementProvider, fusion: FusionHead, regions: str = "au9",
                 region_size: int = 90, full_face_size: int = 90):
        super().__init__()
        self.displacement = displacement
        self.fusion = fusion
        self.regions = regions
        self.region_size = region_size
        self.full_face_size = full_face_size

    def inputs(self, onset: Tensor, apex: Tensor, landmarks: Tensor,
               displacement: Tensor | None = None) -> tuple[Tensor | None, Tensor]:
        """The fusion head's inputs: region crops ``(B, K, M, R, R)`` (or ``None``) and face ``(B, M, S, S)``."""
        if displacement is None:
            displacement = self.displacement(onset, apex)
        return self.regions_and_face(onset, apex, landmarks, displacement)

    def regions_and_face(self, onset: Tensor, apex: Tensor, landmarks: Tensor,
                         displacement: Tensor) -> tuple[Tensor | None, Tensor]:
        """Crop ``[onset, apex, displacement]`` into regions and resize it to the full face."""
        stack = torch.cat([onset, apex, displacement], dim=1)
        h, w = stack.shape[-2:]
        crops = None
        if self.fusion.uses_regions:
            boxes = region_boxes(self.regions, landmarks, h, w)
            crops = crop_regions(stack, boxes, self.region_size)
        face = resize(stack, (self.full_face_size, self.full_face_size), antialias=True)
        return crops, face

    def forward(self, onset: Tensor, apex: Tensor, landmarks: Tensor,
                displacement: Tensor | None = None) -> Tensor:
        return self.fusion(*self.inputs(onset, apex, landmarks, displacement))

    def training_step(self, onset: Tensor, apex: Tensor, landmarks: Tensor) -> tuple[Tensor, Tensor | None]:
        """Logits and the displacement provider's own loss (``None`` if it has none), for training."""
        displacement, provider_loss = self.displacement.training_forward(onset, apex)
        return self.fusion(*self.regions_and_face(onset, apex, landmarks, displacement)), provider_loss
