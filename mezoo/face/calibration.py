"""One calibration: the similarity transform that puts a face's landmarks on the canonical
template, and the one warp that applies it.

A :class:`Calibration` is made by :func:`calibration` (from landmarks, or from a given matrix)
and applied by :func:`warp` (:meth:`Calibration.warp`). Every path from a detected face to a
calibrated canvas goes through them: the face pipeline of datasets
(:class:`~mezoo.data.faces.FaceReader`), the predictor, the video tracker, the apex spotter,
figures and scripts. Detection itself (dlib) is :meth:`mezoo.face.landmarks.LandmarkDetector.calibrate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mezoo.errors import MezooError
from mezoo.face.template import MIRROR_68, canonical_landmarks

#: Landmarks the calibration fits: brows 17-26, nose 27-35 and eyes 36-47. The mouth (48-67) and
#: the jaw line (0-16) move with expressions (lip-corner pulls, a dropping jaw) and the jaw with
#: head yaw, so fitting them would let the expression move the face it is measured on.
STABLE_POINTS = tuple(range(17, 48))

#: How a face was found: from the dataset (``known``), by the detector, by its fallbacks (see
#: :class:`~mezoo.face.landmarks.LandmarkDetector`), or not at all.
STATUSES = ("known", "detected", "padded", "whole_image", "failed")


def warp(image: np.ndarray, matrix: np.ndarray, size: int = 224, replicate: bool = False) -> np.ndarray:
    """``image`` warped by ``matrix`` into ``size`` x ``size`` (bilinear).

    Canvas pixels that fall outside ``image`` are 0, not invented: replicating the edge pixels
    drew streaks whose ends move with every pixel of the edge, and optical flow on them was 100+
    px where the face moved 1 px. :func:`valid_mask` tells which pixels are real. ``replicate``
    extends the edges instead (for a landmark fitter, which must not see a black border).

    Example:
        >>> warp(np.full((4, 4), 7, np.uint8), np.array([[1.0, 0, 1], [0, 1.0, 0]]), 4)[0].tolist()
        [0, 7, 7, 7]
    """
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0)


def valid_mask(shape: tuple[int, ...], matrix: np.ndarray, size: int = 224) -> np.ndarray:
    """Which pixels of a face warped by ``matrix`` (:func:`warp`) come from the source image.

    A canvas pixel is valid when all four source pixels of its bilinear interpolation lie inside
    an image of ``shape`` (``(H, W, ...)``), so a valid pixel holds no fill at all.

    Returns:
        ``(size, size)`` bool.

    Example:
        >>> mask = valid_mask((100, 100), np.array([[1.0, 0, 0], [0, 1.0, 0]]), 150)
        >>> bool(mask[:100, :100].all()), int(mask.sum())
        (True, 10000)
    """
    return warp(np.full(shape[:2], 255, dtype=np.uint8), matrix, size) == 255


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points mapped by a ``(2, 3)`` affine matrix."""
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


def inter_ocular(landmarks: np.ndarray) -> float:
    """The inter-ocular distance: between the centres of the eyes (36-41 and 42-47)."""
    return float(np.linalg.norm(landmarks[42:48].mean(0) - landmarks[36:42].mean(0)))


def eye_angle(landmarks: np.ndarray) -> float:
    """The angle of the line from the left to the right eye centre, in degrees (0: level;
    positive: the right eye lower, clockwise in image coordinates)."""
    d = np.asarray(landmarks)[42:48].mean(0) - np.asarray(landmarks)[36:42].mean(0)
    return float(np.degrees(np.arctan2(d[1], d[0])))


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The similarity transform (rotation, uniform scale, translation) taking ``src`` closest to
    ``dst`` in least squares: Umeyama's closed form (IEEE TPAMI 1991). (OpenCV's
    ``estimateAffinePartial2D`` offers only the RANSAC and LMedS estimators.)

    Args:
        src, dst: ``(N, 2)`` corresponding points, N >= 2.

    Returns:
        ``(2, 3)`` float64 matrix ``[s R | t]``.

    Example:
        >>> pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> np.allclose(similarity_fit(pts, 2 * pts + 3), [[2, 0, 3], [0, 2, 3]])
        True
    """
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    x, y = src - mu_s, dst - mu_d
    u, sing, vt = np.linalg.svd(y.T @ x / len(x))
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ d @ vt
    variance = float((x**2).sum(1).mean())
    if variance <= 0:
        raise MezooError("calibration failed: the landmarks are degenerate (all at one point)")
    scale = float(np.trace(np.diag(sing) @ d)) / variance
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def calibration_matrix(landmarks: np.ndarray, size: int = 224, margin: float = 0.02) -> np.ndarray:
    """The similarity transform taking ``landmarks`` onto the canonical template in a ``size`` x
    ``size`` face (:func:`~mezoo.face.template.canonical_landmarks`, with ``margin``).

    Least squares (:func:`similarity_fit`) over the :data:`STABLE_POINTS`, then outlier
    rejection: points whose residual exceeds three times the median (and 5 % of the template's
    inter-ocular distance) are dropped, and the fit repeated, up to three times. A point is
    dropped together with its mirror partner (left brow end with right brow end, ...), so the
    points kept are always left-right symmetric and the rejection cannot tilt a face: a level,
    symmetric face comes out exactly level, and a face rotated by any angle comes out as if it
    had not been. (OpenCV's LMedS estimator, used before, picks a minimal subset of points and
    rotates the face by whatever that subset's own tilt is.)

    Returns:
        ``(2, 3)`` float64 matrix.

    Raises:
        MezooError: the landmarks are degenerate.
    """
    template = canonical_landmarks(size, margin)
    stable = np.array(STABLE_POINTS)
    keep = stable
    src = np.asarray(landmarks, dtype=np.float64)
    floor = 0.05 * inter_ocular(template)
    matrix = similarity_fit(src[keep], template[keep])
    for _ in range(3):
        residual = np.full(68, np.nan)
        residual[stable] = np.linalg.norm(transform_points(src[stable], matrix) - template[stable], axis=1)
        paired = np.fmax(residual, residual[list(MIRROR_68)])  # a point and its mirror, judged together
        bound = max(3.0 * float(np.nanmedian(paired[keep])), floor)
        kept = stable[paired[stable] <= bound]
        if len(kept) == len(keep) or len(kept) < 10:
            break
        keep = kept
        matrix = similarity_fit(src[keep], template[keep])
    if not np.isfinite(matrix).all():
        raise MezooError("calibration failed: the landmarks are degenerate")
    return matrix


@dataclass(frozen=True)
class Calibration:
    """How a face was found in an image and calibrated to a ``size`` x ``size`` canvas.

    ``status``: one of :data:`STATUSES`. ``matrix`` ``(2, 3)`` maps the source image into the
    canvas (for a clip: every frame, with the onset's matrix); ``landmarks`` ``(68, 2)`` are the
    face's landmarks on the canvas, ``raw`` in the source image. ``frame``: what the image was (a
    path, or a name for messages). ``mask`` ``(size, size)`` bool: which canvas pixels come from
    the source image (all ``False`` when failed). ``faces``: how many faces the detector found
    (the largest, or the tracked one, is used); ``shape``: the source image's ``(height, width)``.
    """

    status: str
    matrix: np.ndarray
    landmarks: np.ndarray
    raw: np.ndarray
    frame: str
    mask: np.ndarray
    faces: int
    shape: tuple[int, int]

    @property
    def size(self) -> int:
        """The canvas side."""
        return int(self.mask.shape[0])

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def boxes(self) -> np.ndarray:
        """The ``(9, 4)`` AU boxes (:func:`mezoo.face.au_boxes`) of :attr:`landmarks` (NaN when failed)."""
        if self.failed:
            return np.full((9, 4), np.nan)
        import torch

        from mezoo.face.au_regions import au_boxes

        return au_boxes(torch.as_tensor(self.landmarks)).numpy()

    @property
    def eye_angle(self) -> float:
        """The eye line's angle after calibration, in degrees (NaN when failed)."""
        return eye_angle(self.landmarks) if not self.failed else float("nan")

    @property
    def valid(self) -> float:
        """The fraction of the canvas that comes from the source image."""
        return float(self.mask.mean())

    def describe(self) -> str:
        """One line on how the face was found and how well it was calibrated."""
        how = {"known": "landmarks from the dataset", "detected": "detected",
               "padded": "detected once the edges were padded", "whole_image": "whole image as the face box (fallback)",
               "failed": "not found"}[self.status]
        several = f", largest of {self.faces} faces" if self.faces > 1 else ""
        return f"face {how}{several}; eye line {self.eye_angle:+.1f} deg; {self.valid:.0%} of the canvas valid"

    def warp(self, image: np.ndarray) -> np.ndarray:
        """``image`` (the source image, or another frame of its clip, of the same size) on the canvas."""
        return warp(image, self.matrix, self.size)


def calibration(raw: np.ndarray | None, size: int = 224, margin: float = 0.02, *, status: str = "detected",
                frame: str = "", faces: int = 1, shape: tuple[int, int] = (0, 0),
                matrix: np.ndarray | None = None) -> Calibration:
    """The :class:`Calibration` of a face whose landmarks in the source image are ``raw``.

    ``matrix``: the transform to use instead of :func:`calibration_matrix` of ``raw`` (a dataset
    whose frames are only resized). ``raw`` ``None`` or ``status`` ``failed``: no face (the matrix
    NaN unless given, the landmarks NaN, nothing valid).

    Example:
        >>> cal = calibration(canonical_landmarks(112) * 2 + 5, 112, shape=(240, 240))
        >>> cal.status, round(cal.eye_angle, 6), cal.valid
        ('detected', 0.0, 1.0)
    """
    shape = (int(shape[0]), int(shape[1]))
    if status == "failed" or raw is None and matrix is None:
        nan = np.full((68, 2), np.nan)
        return Calibration("failed", np.full((2, 3), np.nan) if matrix is None else matrix, nan,
                           nan if raw is None else raw, frame, np.zeros((size, size), dtype=bool), faces, shape)
    raw = np.full((68, 2), np.nan) if raw is None else np.asarray(raw, dtype=np.float64)
    matrix = calibration_matrix(raw, size, margin) if matrix is None else matrix
    return Calibration(status, matrix, transform_points(raw, matrix), raw, frame, valid_mask(shape, matrix, size),
                       faces, shape)
