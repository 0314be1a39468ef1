"""Apex spotters: pick the apex of a clip whose apex is not annotated (SMIC).

Registered through the ``register_apex_spotters`` hook; each is a function ``fn(sample) -> int``
returning a 0-based frame index between the sample's onset and offset.
"""

from __future__ import annotations

import cv2
import numpy as np

from mezoo.data.sample import Sample


def middle(sample: Sample) -> int:
    """The middle frame between onset and offset (SPEC section 3's default for SMIC)."""
    return (sample.onset + sample.offset) // 2


def max_difference(sample: Sample, size: int = 64) -> int:
    """The frame that differs most from the onset: mean absolute grey-level difference at ``size``
    x ``size`` after a light blur, searched between onset and offset.

    A simple, training-free spotter; it reads every frame of the clip once. Head motion and
    blinks also raise the difference, so expect it to err on clips with either.
    """
    def grey(i: int) -> np.ndarray:
        g = cv2.cvtColor(sample.read_frame(i), cv2.COLOR_RGB2GRAY)
        g = cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        return cv2.GaussianBlur(g, (0, 0), 1.0)

    first = grey(sample.onset)
    best, best_score = sample.onset, -1.0
    for i in range(sample.onset + 1, sample.offset + 1):
        score = float(np.abs(grey(i) - first).mean())
        if score > best_score:
            best, best_score = i, score
    return best
