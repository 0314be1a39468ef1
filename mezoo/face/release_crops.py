"""A photo cut the way micro-expression releases cut their faces, with the head tilted: the
material on which mezoo's framing is measured (``scripts/framing_table.py``, the tests).

The shapes (``H``: the face's height from the top of the brows to the chin, in the tilted
image; every crop is axis-aligned in the image, as the releases' are, so a tilted head's crop
holds it tilted):

=============  ===================================================================================
shape          how it is cut
=============  ===================================================================================
``casme2``     CASME II ``Cropped/``: from the brow top to the chin, 0.82 H wide, centred on the
               nose; about 280 x 340 px (the photo is scaled to that). Cheeks cut.
``square224``  The MEGC2019 composite's crops of CASME II, SAMM and SMIC: a square from the brow top
               to the chin, centred on the nose, resized to 224 x 224.
``face_box``   A face detector's square box (how SAMM's and SMIC's crops were made): from 0.1 H
               above the brow top to the chin, as wide, centred on the nose; about 230 px.
``frame640``   A raw 640 x 480 frame with a small face (H = 150 px) left of centre.
=============  ===================================================================================

The head is turned by ``angle`` degrees about the nose before the cut (positive: clockwise on
screen); the image's own edges are mirrored where the turn uncovers them, so every pixel of a
crop is recorded (in ``frame640``, the photo sits on a plain background of its median colour
instead, so that no mirrored copy of the face enters the frame).
"""

from __future__ import annotations

import numpy as np

#: The shapes of the module docstring's table, in its order.
RELEASE_SHAPES = ("casme2", "square224", "face_box", "frame640")

#: The tilts measured: a head turned in the image plane by this much either way.
TILTS = (-15.0, 0.0, 15.0)


def _transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


def face_height(landmarks: np.ndarray) -> float:
    """The face's height: from the top of the brows (17-26) to the chin (8), along the image's y."""
    return float(landmarks[8, 1] - landmarks[17:27, 1].min())


def release_crop(image: np.ndarray, landmarks: np.ndarray, shape: str, angle: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``image``'s face (its 68 ``landmarks``) turned by ``angle`` degrees and cut as ``shape``
    (see the module docstring).

    Returns:
        The crop (uint8 RGB) and the landmarks in it ``(68, 2)``.

    Raises:
        ValueError: an unknown ``shape``.
    """
    import cv2  # on first use: the command line lists RELEASE_SHAPES without OpenCV

    if shape not in RELEASE_SHAPES:
        raise ValueError(f"unknown release shape {shape!r}; expected one of: {', '.join(RELEASE_SHAPES)}")
    landmarks = np.asarray(landmarks, dtype=np.float64)
    upright = face_height(landmarks)
    target = {"casme2": 340.0, "square224": 224.0, "face_box": 230.0, "frame640": 150.0}[shape]
    if shape == "face_box":
        target /= 1.1
    scale = target / upright
    nose = landmarks[27:36].mean(0)
    # turn about the nose and scale in one warp, into an image big enough for any crop
    side = int(np.ceil(4 * target)) + 640
    centre = np.array([side / 2, side / 2])
    rot = cv2.getRotationMatrix2D((float(nose[0]), float(nose[1])), angle, scale)
    rot[:, 2] += centre - nose
    fill = [int(v) for v in np.median(image.reshape(-1, image.shape[-1]), axis=0)]
    flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    if shape == "frame640":  # a plain background around the photo, not mirrored faces
        moved = cv2.warpAffine(image, rot, (side, side), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    else:
        moved = cv2.warpAffine(image, rot, (side, side), flags=flags, borderMode=cv2.BORDER_REFLECT_101)
    points = _transform(landmarks, rot)
    top, chin = points[17:27, 1].min(), points[:17, 1].max()
    height = chin - top
    x_nose = points[27:36, 0].mean()
    if shape == "casme2":
        box = (x_nose - 0.41 * height, top, x_nose + 0.41 * height, chin)
    elif shape == "square224":
        box = (x_nose - 0.5 * height, top, x_nose + 0.5 * height, chin)
    elif shape == "face_box":
        top = top - 0.1 * height
        box = (x_nose - 0.55 * height, top, x_nose + 0.55 * height, chin)
    else:  # the face left of centre and a little high in a 640 x 480 frame
        box = (x_nose - 0.4 * 640, points[27:48, 1].mean() - 0.42 * 480, 0, 0)
        box = (box[0], box[1], box[0] + 640, box[1] + 480)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    crop = np.ascontiguousarray(moved[y0:y1, x0:x1])
    points = points - [x0, y0]
    if shape == "square224":
        h, w = crop.shape[:2]
        crop = cv2.resize(crop, (224, 224), interpolation=cv2.INTER_AREA)
        points = points * [224 / w, 224 / h]
    return crop, points
