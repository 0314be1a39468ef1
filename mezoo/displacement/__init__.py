"""Displacement providers: onset + apex -> a per-pixel displacement D of shape (B, 2, H, W)."""

from mezoo.displacement.base import DisplacementProvider
from mezoo.displacement.farneback import Farneback, farneback_flow

__all__ = ["DisplacementProvider", "Farneback", "farneback_flow"]
