"""Spotting micro-expressions: when does part of the face move, and come back, within half a second?

These are the primitives that the apex spotter of clips (:func:`mezoo.data.apex.motion_energy`)
and the video tracker (:mod:`mezoo.inference.video`) share.

Motion is measured on the face calibrated to a small canvas (:data:`CANVAS` px, brows to chin, as
the face pipeline frames it), as Farneback optical flow averaged in a :data:`GRID` x :data:`GRID`
grid of blocks. The median block vector is subtracted, so a head that shifts as a whole does not
count; a local action (a brow, a lip corner) does. A frame's score is the mean of its most moving
third of blocks, so a small action is not averaged away by the still rest of the face (the
feature-difference rule of Moilanen et al., ICPR 2014, on flow instead of LBP histograms).

In a long video (:func:`returning_motion`), the score of frame ``t`` compares the motion into it
from ``t - k`` with the motion out of it to ``t + k`` (``k`` the lag): per block
``(|u| + |v| - |u + v|) / 2`` for ``u = flow(t-k -> t)``, ``v = flow(t -> t+k)``. It is about
``|u|`` when the face comes back to where it was (``v = -u``: a micro-expression peaking at
``t``), and 0 when it keeps moving the same way (``v = u``: a slow macro-expression or a drift) or
moves once and stays (``u`` or ``v`` = 0). Scores are in pixels of a 224 px face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mezoo.face.calibration import Calibration

#: side of the face canvas motion is measured on
CANVAS = 112
#: blocks per side
GRID = 8
#: scores are given in pixels of a face this size (the face pipeline's default)
REFERENCE_SIZE = 224


def grey_face(image: np.ndarray, face: Calibration) -> np.ndarray:
    """``image`` (RGB or grey) on the canvas of ``face`` (a calibration to :data:`CANVAS`), as grey uint8."""
    return face.warp(image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))


def block_flow(first: np.ndarray, second: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Farneback flow from ``first`` to ``second`` (grey :data:`CANVAS` faces), averaged per block,
    with the median block vector (the head's shift) subtracted.

    Returns:
        ``(GRID * GRID, 2)`` float32 pixels of a 224 px face; NaN for blocks less than half valid.
    """
    flow = cv2.calcOpticalFlowFarneback(first, second, None, pyr_scale=0.5, levels=3, winsize=9, iterations=3,
                                        poly_n=5, poly_sigma=1.1, flags=0)
    side = CANVAS // GRID
    weight = np.ones((CANVAS, CANVAS), np.float32) if valid is None else valid.astype(np.float32)
    w = weight.reshape(GRID, side, GRID, side).sum((1, 3)).reshape(-1)
    sums = (flow * weight[..., None]).reshape(GRID, side, GRID, side, 2).sum((1, 3)).reshape(-1, 2)
    blocks = sums / np.maximum(w, 1)[:, None]
    blocks[w < 0.5 * side * side] = np.nan
    if np.isfinite(blocks[:, 0]).any():
        blocks -= np.nanmedian(blocks, axis=0)
    return (blocks * (REFERENCE_SIZE / CANVAS)).astype(np.float32)


def top_third(values: np.ndarray) -> float:
    """The mean of the largest third of the finite ``values`` (NaN if none)."""
    v = np.sort(values[np.isfinite(values)])[::-1]
    if not len(v):
        return float("nan")
    return float(v[: max(1, len(v) // 3)].mean())


def moved(u: np.ndarray) -> float:
    """How far the face moved in the blocks ``u`` (:func:`block_flow`): the top third of their lengths."""
    return top_third(np.linalg.norm(u, axis=1))


def returning_motion(into: np.ndarray, out: np.ndarray) -> float:
    """The score of a frame from the block flows into it and out of it (see the module docstring)."""
    e = (np.linalg.norm(into, axis=1) + np.linalg.norm(out, axis=1) - np.linalg.norm(into + out, axis=1)) / 2
    return top_third(e)


def threshold(signal: np.ndarray, z: float, floor: float) -> float:
    """``median + z * (robust standard deviation)`` of the finite scores, at least ``floor``."""
    v = signal[np.isfinite(signal)]
    if not len(v):
        return float(floor)
    median = float(np.median(v))
    spread = 1.4826 * float(np.median(np.abs(v - median)))
    return max(median + z * spread, float(floor))


@dataclass(frozen=True)
class Peak:
    """A spotted interval: frame indices (into the signal) of its onset, apex and offset, and its score."""

    onset: int
    apex: int
    offset: int
    score: float


def peaks(signal: np.ndarray, lag: int, level: float) -> list[Peak]:
    """Local maxima of ``signal`` at or above ``level``, strongest first kept, none within ``2 * lag``
    of a stronger one; each with the window ``apex - lag .. apex + lag`` (clipped) as its interval.

    Returns:
        The peaks in time order.
    """
    s = np.where(np.isfinite(signal), signal, -np.inf)
    n = len(s)
    candidates = [i for i in range(n) if s[i] >= level and s[i] >= s[max(i - 1, 0)] and s[i] >= s[min(i + 1, n - 1)]]
    kept: list[int] = []
    for i in sorted(candidates, key=lambda i: -s[i]):
        if all(abs(i - j) > 2 * lag for j in kept):
            kept.append(i)
    return [Peak(max(i - lag, 0), i, min(i + lag, n - 1), float(s[i])) for i in sorted(kept)]


def stretches(flags: np.ndarray) -> list[tuple[int, int]]:
    """The runs of True in ``flags`` as ``(first, last)`` index pairs."""
    out, start = [], None
    for i, f in enumerate(np.asarray(flags, dtype=bool).tolist() + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - 1))
            start = None
    return out
