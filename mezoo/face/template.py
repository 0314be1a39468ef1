"""The canonical 68-point face template (iBUG 300-W / dlib point order) in a unit square.

Calibration maps detected landmarks onto this template, and the synthetic dataset draws its
faces from it, so both end in the same frame. Point groups: jaw 0-16, brows 17-21 and 22-26
(image left, then image right), nose bridge 27-30, nostrils 31-35, eyes 36-41 and 42-47, outer
lips 48-59, inner lips 60-67. Proportions follow an average frontal face.
"""

from __future__ import annotations

import numpy as np


def _build() -> np.ndarray:
    pts = np.zeros((68, 2), dtype=np.float64)
    # Jaw: lower half of an ellipse from the left temple, through the chin, to the right temple.
    theta = np.pi - np.arange(17) * np.pi / 16
    pts[0:17, 0] = 0.5 + 0.42 * np.cos(theta)
    pts[0:17, 1] = 0.30 + 0.65 * np.sin(theta)
    # Brows: arcs, highest a third of the way from the outer end.
    x = np.linspace(0.17, 0.43, 5)
    pts[17:22, 0] = x
    pts[17:22, 1] = 0.25 - 0.055 * np.sin(np.pi * (x - 0.13) / 0.34)
    pts[22:27, 0] = 1.0 - x[::-1]
    pts[22:27, 1] = pts[17:22, 1][::-1]
    # Nose bridge and nostrils.
    pts[27:31, 0] = 0.5
    pts[27:31, 1] = np.linspace(0.33, 0.55, 4)
    pts[31:36] = [(0.42, 0.60), (0.46, 0.615), (0.5, 0.625), (0.54, 0.615), (0.58, 0.60)]
    # Eyes: outer corner, two upper lid points, inner corner, two lower lid points.
    pts[36:42] = [(0.23, 0.34), (0.27, 0.315), (0.33, 0.315), (0.37, 0.34), (0.33, 0.362), (0.27, 0.362)]
    right_eye = [(0.63, 0.34), (0.67, 0.315), (0.73, 0.315), (0.77, 0.34), (0.73, 0.362), (0.67, 0.362)]
    pts[42:48] = right_eye
    # Lips: outer contour from the left corner clockwise, then the inner contour.
    pts[48:60] = [
        (0.36, 0.77), (0.41, 0.745), (0.46, 0.735), (0.50, 0.742), (0.54, 0.735), (0.59, 0.745),
        (0.64, 0.77), (0.59, 0.80), (0.54, 0.815), (0.50, 0.82), (0.46, 0.815), (0.41, 0.80),
    ]
    pts[60:68] = [
        (0.38, 0.77), (0.45, 0.765), (0.50, 0.767), (0.55, 0.765),
        (0.62, 0.77), (0.55, 0.775), (0.50, 0.777), (0.45, 0.775),
    ]
    return pts


#: (68, 2) x, y in [0, 1]; the face's landmark box spans the unit square minus a margin.
CANONICAL_68: np.ndarray = _build()
CANONICAL_68.setflags(write=False)


def canonical_landmarks(size: int, margin: float = 0.12) -> np.ndarray:
    """The template placed in a ``size`` x ``size`` image, leaving ``margin`` (a fraction) around it.

    Returns:
        ``(68, 2)`` float64 pixel coordinates (x, y).
    """
    return (margin + CANONICAL_68 * (1.0 - 2.0 * margin)) * size
