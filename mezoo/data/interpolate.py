"""Temporal interpolators: resample a clip's frames to a fixed length.

Registered through the ``register_interpolators`` hook; each is a function
``fn(frames, length) -> frames`` taking ``(n, H, W, C)`` frames (any numeric dtype, n >= 2) and
returning ``(length, H, W, C)`` float32 frames spanning the same time, first to last. The
built-in is ``linear``; the ``mezoo-tim`` plugin adds ``tim`` (the Temporal Interpolation Model
that FRL-DGT-S uses).
"""

from __future__ import annotations

import numpy as np

from mezoo.errors import DataError


def check(frames: np.ndarray, length: int) -> np.ndarray:
    """``frames`` as a float32 array after checking the shapes an interpolator accepts."""
    frames = np.asarray(frames)
    if frames.ndim < 2 or len(frames) < 2:
        raise DataError(f"interpolation needs at least 2 frames, got an array of shape {frames.shape}")
    if int(length) < 2:
        raise DataError(f"interpolation length must be at least 2, not {length}")
    return frames.astype(np.float32, copy=False)


def linear(frames: np.ndarray, length: int) -> np.ndarray:
    """Piecewise-linear resampling at ``length`` evenly spaced times from the first frame to the last."""
    frames = check(frames, length)
    n = len(frames)
    t = np.linspace(0, n - 1, int(length))
    lo = np.minimum(np.floor(t).astype(int), n - 2)
    w = (t - lo).astype(np.float32).reshape(-1, *([1] * (frames.ndim - 1)))
    return (1 - w) * frames[lo] + w * frames[lo + 1]
