"""Displacement providers: onset + apex -> a per-pixel displacement D of shape (B, 2, H, W)."""

from mezoo.displacement.base import DisplacementProvider
from mezoo.displacement.dgm import DGM
from mezoo.displacement.dynamic_image import DynamicImage, dynamic_image, rank_pooling_coefficients
from mezoo.displacement.farneback import Farneback, farneback_flow
from mezoo.displacement.of_norm import OFNorm
from mezoo.displacement.warp import (
    DisplacementWarp,
    normalization_loss,
    per_sample_normalize,
    reconstruction_loss,
    scale_grad,
    smoothness_loss,
    warp_by_displacement,
)

__all__ = [
    "DGM",
    "DisplacementProvider",
    "DisplacementWarp",
    "DynamicImage",
    "Farneback",
    "OFNorm",
    "dynamic_image",
    "farneback_flow",
    "normalization_loss",
    "per_sample_normalize",
    "rank_pooling_coefficients",
    "reconstruction_loss",
    "scale_grad",
    "smoothness_loss",
    "warp_by_displacement",
]
