"""Faces: the canonical 68-point template and the AU regions cut from landmarks.

The AU-region names come from :mod:`mezoo.face.au_regions` on first use: it needs torch, which a
command that only lists or counts (``mezoo datasets info``) should not pay for.
"""

from typing import Any

from mezoo.face.template import CANONICAL_68, canonical_landmarks

_AU_REGIONS = ("AU_REGION_NAMES", "GRID3X3_NAMES", "au_boxes", "box_validity", "crop_regions", "grid3x3_boxes",
               "region_boxes")


def __getattr__(name: str) -> Any:
    if name in _AU_REGIONS:
        from mezoo.face import au_regions

        return getattr(au_regions, name)
    raise AttributeError(f"module 'mezoo.face' has no attribute {name!r}")

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
