"""FRL-DGT as a whole: a displacement provider, region cropping and a fusion head."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mezoo import plugins
from mezoo.displacement.base import DisplacementProvider
from mezoo.errors import ConfigError, MezooError
from mezoo.face.au_regions import crop_regions, region_boxes
from mezoo.fusion.base import FusionHead

if TYPE_CHECKING:
    from mezoo.settings import Settings


class FRLDGT(nn.Module):
    """Onset + apex (+ landmarks) -> class logits; with a sequence fusion head, FRL-DGT-S.

    The input of the fusion head is the channel stack ``[onset, apex, D]`` (paper sec. 3.2),
    cut into the regions of ``regions`` (``au9`` or ``grid3x3``) at ``region_size`` and resized
    whole to ``full_face_size``.

    FRL-DGT-S (paper sec. 4.4; :meth:`forward_sequence`): a clip resampled to T frames; the onset
    is paired with each later frame, the provider gives one ``D_t`` per pair (DGM-S:
    :meth:`DisplacementProvider.pairs`), and each ``[frame_t, D_t]`` is cut like a pair's stack.
    Regions are cut at the onset's landmarks in every frame (the frames are calibrated on the
    onset, so a region stays on the same skin).

    Every input may come with the frames' validity ``mask`` ``(B, 1, H, W)`` (1 where the
    calibrated pixel comes from the source image): the provider gets it, and the whole stack is
    zeroed outside it before cropping, so no pixel that was never recorded reaches the head.

    Args:
        displacement: the provider of ``D``. A non-trainable one may be skipped by passing
            a precomputed ``displacement`` to :meth:`forward`.
        fusion: the fusion head.

    Shape:
        - onset, apex: ``(B, C, H, W)`` in ``[0, 1]``; landmarks: ``(B, 68, 2)`` pixels;
          displacement (optional): ``(B, 2, H, W)``; mask (optional): ``(B, 1, H, W)``.
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

    def inputs(self, onset: Tensor, apex: Tensor, landmarks: Tensor, displacement: Tensor | None = None,
               mask: Tensor | None = None) -> tuple[Tensor | None, Tensor]:
        """The fusion head's inputs: region crops ``(B, K, M, R, R)`` (or ``None``) and face ``(B, M, S, S)``."""
        if displacement is None:
            displacement = self.displacement(onset, apex, mask)
        return self.regions_and_face(onset, apex, landmarks, displacement, mask)

    def regions_and_face(self, onset: Tensor, apex: Tensor, landmarks: Tensor, displacement: Tensor,
                         mask: Tensor | None = None) -> tuple[Tensor | None, Tensor]:
        """Crop ``[onset, apex, displacement]`` (zero outside ``mask``) into regions and resize it to the full face."""
        stack = torch.cat([onset, apex, displacement], dim=1)
        return self.cut(stack if mask is None else stack * mask, landmarks, mask)

    def cut(self, stack: Tensor, landmarks: Tensor, mask: Tensor | None = None) -> tuple[Tensor | None, Tensor]:
        """``(B, M, H, W)`` -> region crops ``(B, K, M, R, R)`` (``None`` if unused) and face ``(B, M, S, S)``.

        The AU boxes lie in the canvas's face frame and, with the validity ``mask`` ``(B, 1, H,
        W)``, on its recorded pixels (:func:`mezoo.face.au_regions.au_boxes`).
        """
        h, w = stack.shape[-2:]
        crops = None
        if self.fusion.uses_regions:
            boxes = region_boxes(self.regions, landmarks, h, w, mask)
            crops = crop_regions(stack, boxes, self.region_size)
        # antialiased bilinear (a triangle filter as wide as the scale): torch's own, 12 ms at batch 32
        # where kornia's resize (a Gaussian blur, then bilinear) took 186 ms, a fifth of a training step
        face = F.interpolate(stack, size=(self.full_face_size, self.full_face_size), mode="bilinear",
                             align_corners=False, antialias=True)
        return crops, face

    def forward(self, onset: Tensor, apex: Tensor, landmarks: Tensor, displacement: Tensor | None = None,
                mask: Tensor | None = None) -> Tensor:
        return self.fusion(*self.inputs(onset, apex, landmarks, displacement, mask))

    def sequence_inputs(self, frames: Tensor, landmarks: Tensor, displacement: Tensor | None = None,
                        mask: Tensor | None = None) -> tuple[Tensor | None, Tensor]:
        """A sequence head's inputs: regions ``(B, T-1, K, M, R, R)`` (or ``None``), face ``(B, T-1, M, S, S)``.

        Shape:
            - frames: ``(B, T, C, H, W)`` in ``[0, 1]``, onset first; landmarks: ``(B, 68, 2)``
              of the onset; displacement (optional): ``(B, T-1, D, H, W)``; mask (optional):
              ``(B, 1, H, W)``, one for the whole clip (its frames share the onset's calibration).
        """
        if displacement is None:
            displacement = self.displacement.pairs(frames, mask)
        steps = frames.shape[1] - 1
        stack = torch.cat([frames[:, 1:], displacement], dim=2)
        if mask is not None:
            stack = stack * mask[:, None]
        stack = stack.flatten(0, 1)
        crops, face = self.cut(stack, landmarks.repeat_interleave(steps, dim=0),
                               None if mask is None else mask.repeat_interleave(steps, dim=0))
        return (None if crops is None else crops.unflatten(0, (-1, steps))), face.unflatten(0, (-1, steps))

    def forward_sequence(self, frames: Tensor, landmarks: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, T, C, H, W)`` frames (onset first) and the onset's landmarks -> ``(B, num_classes)``."""
        return self.fusion(*self.sequence_inputs(frames, landmarks, mask=mask))

    def sequence_training_step(self, frames: Tensor, landmarks: Tensor,
                               mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Logits of a sequence batch and the provider's own loss over its T-1 pairs, for training."""
        displacement, provider_loss = self.displacement.pairs_training_forward(frames, mask)
        return self.fusion(*self.sequence_inputs(frames, landmarks, displacement, mask)), provider_loss

    def training_step(self, onset: Tensor, apex: Tensor, landmarks: Tensor,
                      mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Logits and the displacement provider's own loss (``None`` if it has none), for training."""
        displacement, provider_loss = self.displacement.training_forward(onset, apex, mask)
        return self.fusion(*self.regions_and_face(onset, apex, landmarks, displacement, mask)), provider_loss


def is_sequence_model(settings: Settings) -> bool:
    """Whether the chosen fusion head classifies resampled clips (FRL-DGT-S) rather than onset/apex pairs."""
    return bool(getattr(plugins.get("fusion", settings.fusion.name), "sequence", False))


def build_model(settings: Settings, num_classes: int) -> FRLDGT:
    """FRL-DGT as ``settings`` say: the chosen displacement provider and fusion head.

    A sequence head (FRL-DGT-S) gets ``num_steps`` = ``sequence.length`` - 1 and inputs of one
    frame plus its displacement (the pair heads: onset, apex and displacement).

    Raises:
        ConfigError: a component refused its options (a size that does not divide, ...).
    """
    frame_channels = 3 if settings.face.color else 1
    provider = _build("displacement", settings.displacement.name, settings.displacement.chosen())
    provider.check_size(settings.face.size)
    steps = {"num_steps": settings.sequence.length - 1} if is_sequence_model(settings) else {}
    in_channels = (1 if steps else 2) * frame_channels + provider.out_channels(frame_channels)
    regions = settings.regions
    fusion = _build("fusion", settings.fusion.name, {
        **settings.fusion.chosen(), "in_channels": in_channels, "num_classes": num_classes, "num_regions": 9,
        "region_size": regions.size, "face_size": regions.full_face_size, **steps})
    return FRLDGT(provider, fusion, regions=regions.kind, region_size=regions.size,
                  full_face_size=regions.full_face_size)


def _build(kind: str, name: str, options: dict[str, Any]) -> Any:
    try:
        return plugins.make(kind, name, **options)
    except MezooError:
        raise
    except (TypeError, ValueError) as exc:  # a plugin's own check of its options
        raise ConfigError(f"{kind} {name!r} cannot be built with its options ({exc}); see {kind}.{name} in "
                          f"the settings") from exc
