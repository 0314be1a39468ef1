"""The canonical 68-point face template (iBUG 300-W / dlib point order) and how it fills the canvas.

Calibration maps detected landmarks onto this template, and the synthetic dataset draws its
faces from it, so both end in the same frame. Point groups: jaw 0-16, brows 17-21 and 22-26
(image left, then image right), nose bridge 27-30, nostrils 31-35, eyes 36-41 and 42-47, outer
lips 48-59, inner lips 60-67.

Where the numbers come from: the generalized Procrustes mean of dlib's 68-point fits on the
five frontal faces in photos that Python packages ship (scikit-image's astronaut, matplotlib's
Grace Hopper, two faces of insightface 2.1's ``t1.jpg`` and face_recognition 1.3.0's
``obama.jpg``), each with its mirror image, so the mean is left-right symmetric and its eye line
exactly level. ``python scripts/derive_template.py`` reproduces them. In units of the
inter-ocular distance (IOD, between the eye centres): brows-to-chin 2.18, jaw width (0-16) 2.24,
mouth width 0.98, eyes-to-mouth 0.99. Four of the five photos smile, so the mouth is wider than a
neutral one (the ArcFace 5-point convention has 0.83 and 1.16); calibration does not fit the
mouth (:data:`mezoo.face.calibration.STABLE_POINTS`), so this only moves where the synthetic
faces' mouths are drawn.

The framing (:func:`canonical_landmarks`): the template's y runs from the top of the brows (0)
to the chin (1), x is centred on the face's midline (0.5). The canvas is a square :data:`SPAN`
(0.88) face heights on a side whose top edge is the top of the brows, centred on the midline: it
holds the face from the brows to just above the chin tip and from cheek to cheek short of the
jaw. This is the part of the face that the releases record: CASME II's ``Cropped/`` faces run
from the brow top to the chin and are 0.82 face heights wide, the MEGC2019 composite's 224 x 224
squares from the brow top to the chin, so nothing above the brows is ever recorded and a canvas
that reached there (or a full brows-to-chin square, wider than CASME II's crops) was a quarter
empty. On CASME II-shaped crops of six real photos with the head turned by up to 15 degrees, a
square of 0.88 keeps at least 86 % of the canvas on recorded pixels (median 93 %; ``python
scripts/framing_table.py``), where 0.92 kept 84 % at worst even with the photos' own landmarks
and the old brows-to-chin square a median of 74 %. The paper says only that it
"calibrate[s] the face to a fixed position and size" with dlib (sec. 3.2.3, 4.1); this is the
fixed position and size that the releases' crops fill.
"""

from __future__ import annotations

import numpy as np


#: The index of each landmark's mirror partner (left brow end <-> right brow end, ...); the
#: points on the midline (nose bridge, nose tip, lip centres, chin) are their own partners.
MIRROR_68: tuple[int, ...] = (
    16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 27, 28, 29,
    30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58,
    57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65,
)


#: (68, 2) x, y: brow top at y = 0, chin at y = 1, midline at x = 0.5 (see the module docstring).
CANONICAL_68: np.ndarray = np.array([
    (-0.0142, 0.1700), (-0.0046, 0.3042), (0.0127, 0.4376), (0.0363, 0.5706),
    (0.0840, 0.6964), (0.1585, 0.8090), (0.2571, 0.9042), (0.3671, 0.9799),
    (0.5000, 1.0000), (0.6329, 0.9799), (0.7429, 0.9042), (0.8415, 0.8090),
    (0.9160, 0.6964), (0.9637, 0.5706), (0.9873, 0.4376), (1.0046, 0.3042),
    (1.0142, 0.1700), (0.0743, 0.0910), (0.1318, 0.0207), (0.2210, 0.0000),
    (0.3157, 0.0093), (0.4045, 0.0441), (0.5955, 0.0441), (0.6843, 0.0093),
    (0.7790, 0.0000), (0.8682, 0.0207), (0.9257, 0.0910), (0.5000, 0.1442),
    (0.5000, 0.2396), (0.5000, 0.3330), (0.5000, 0.4279), (0.3883, 0.4771),
    (0.4436, 0.4956), (0.5000, 0.5119), (0.5564, 0.4956), (0.6117, 0.4771),
    (0.1849, 0.1647), (0.2385, 0.1366), (0.3012, 0.1354), (0.3606, 0.1717),
    (0.2997, 0.1809), (0.2358, 0.1823), (0.6394, 0.1717), (0.6988, 0.1354),
    (0.7615, 0.1366), (0.8151, 0.1647), (0.7642, 0.1823), (0.7003, 0.1809),
    (0.2743, 0.6169), (0.3550, 0.5986), (0.4381, 0.5932), (0.5000, 0.6099),
    (0.5619, 0.5932), (0.6450, 0.5986), (0.7257, 0.6169), (0.6489, 0.7031),
    (0.5662, 0.7425), (0.5000, 0.7510), (0.4338, 0.7425), (0.3511, 0.7031),
    (0.3060, 0.6266), (0.4382, 0.6329), (0.5000, 0.6399), (0.5618, 0.6329),
    (0.6940, 0.6266), (0.5621, 0.6757), (0.5000, 0.6848), (0.4379, 0.6757),
], dtype=np.float64)
CANONICAL_68.setflags(write=False)


#: The canvas side in face heights (brow top to chin); see the module docstring.
SPAN = 0.88


def canonical_landmarks(size: int, span: float = SPAN) -> np.ndarray:
    """The template placed in a ``size`` x ``size`` canvas: the top of the brows on the canvas's
    top edge, the face's midline on its vertical centre line, and ``span`` face heights (brow
    top to chin) across it (see the module docstring).

    Returns:
        ``(68, 2)`` float64 pixel coordinates (x, y).

    Example:
        >>> lm = canonical_landmarks(224)
        >>> round(float(lm[17:27, 1].min()), 2), round(float(lm[8, 1]), 2)  # brow top, chin
        (0.0, 254.55)
    """
    scale = size / span
    return (CANONICAL_68 - [0.5, 0.0]) * scale + [size / 2, 0.0]
