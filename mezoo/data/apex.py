"""Apex spotters: pick the apex of a clip whose apex is not annotated (SMIC).

Registered through the ``register_apex_spotters`` hook; each is a function ``fn(sample) -> int``
returning a 0-based frame index between the sample's onset and offset.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from mezoo.data.sample import Sample
from mezoo.face.calibration import calibration
from mezoo.face.landmarks import LandmarkDetector
from mezoo.face.spotting import CANVAS, block_flow, grey_face, returning_motion


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


def motion_energy(sample: Sample) -> int:
    """The frame whose face moved most from the onset's and moved back towards the offset's, locally.

    Optical flow (Farneback) on the face calibrated to a small canvas, from the onset to each
    frame ``t`` and from ``t`` to the offset, the head's shift (the median block vector) taken
    out; ``t`` scores the motion that goes and comes back (:func:`mezoo.face.spotting.returning_motion`),
    so a slow drift, a head roll or a change that stays to the offset (a distractor, lighting)
    scores little, where the motion of the expression rises to its apex and falls after it.
    Searched strictly between onset and offset: a clip must run past its apex (onset to offset,
    as datasets cut them). The face is found on the onset (its landmarks when the dataset knows
    them, else dlib's); every frame is read once.

    On the 96 clips of ``synthetic`` with seed 1 (apex in the middle third of 12 frames, offset at
    0.3 of the apex's intensity): mean error 0.53 frames, 70 % exact, where ``middle`` was 1.36
    frames (22 % exact) and ``max_difference`` 3.15 (11 %)
    (``python scripts/spotting_accuracy.py --clips-only``).
    """
    onset = sample.read_frame(sample.onset)
    h, w = onset.shape[:2]
    landmarks = sample.known_landmarks(sample.onset)
    if landmarks is not None:
        face = calibration(landmarks, CANVAS, status="known", shape=(h, w))
    else:
        face = _detector().calibrate(onset, CANVAS)
    if face.failed:  # no face: the whole frame, squeezed
        face = calibration(None, CANVAS, status="whole_image", shape=(h, w),
                           matrix=np.array([[CANVAS / w, 0, 0], [0, CANVAS / h, 0]]))
    valid = face.mask
    offset = min(sample.offset, len(sample) - 1)
    if offset - sample.onset < 2:
        return offset
    faces = [grey_face(sample.read_frame(i), face) for i in range(sample.onset, offset + 1)]
    scores = [returning_motion(block_flow(faces[0], faces[k], valid), block_flow(faces[k], faces[-1], valid))
              for k in range(1, len(faces) - 1)]
    return sample.onset + 1 + int(np.nanargmax(scores)) if np.isfinite(scores).any() else (sample.onset + offset) // 2


@lru_cache(maxsize=1)
def _detector() -> LandmarkDetector:
    return LandmarkDetector()
