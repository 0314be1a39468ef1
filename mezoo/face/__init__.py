"""Faces: the canonical 68-point template and the AU regions cut from landmarks."""

from mezoo.face.au_regions import (
    AU_REGION_NAMES,
    GRID3X3_NAMES,
    au_boxes,
    box_validity,
    crop_regions,
    grid3x3_boxes,
    region_boxes,
)
from mezoo.face.template import CANONICAL_68, canonical_landmarks

__all__ = [
    "AU_REGION_NAMES",
    "CANONICAL_68",
    "GRID3X3_NAMES",
    "au_boxes",
    "box_validity",
    "canonical_landmarks",
    "crop_regions",
    "grid3x3_boxes",
    "region_boxes",
]
