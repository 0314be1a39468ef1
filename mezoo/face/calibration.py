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
from mezoo.face.template import MIRROR_68, SPAN, canonical_landmarks

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


def scale_fit(src: np.ndarray, dst: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """The transform ``s R x + t`` with the given ``rotation`` ``R`` (2 x 2) taking ``src`` closest
    to ``dst`` in least squares (the scale and translation of :func:`similarity_fit` with its
    rotation fixed).

    Example:
        >>> pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> np.allclose(scale_fit(pts, 2 * pts + 3, np.eye(2)), [[2, 0, 3], [0, 2, 3]])
        True
    """
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    x, y = (src - mu_s) @ rotation.T, dst - mu_d
    variance = float((x**2).sum())
    if variance <= 0:
        raise MezooError("calibration failed: the landmarks are degenerate (all at one point)")
    scale = float((x * y).sum()) / variance
    return np.hstack([scale * rotation, (mu_d - scale * rotation @ mu_s)[:, None]])


def outside(points: np.ndarray, shape: tuple[int, ...], tolerance: float = 1.0) -> np.ndarray:
    """Which of ``points`` ``(N, 2)`` lie outside an image of ``shape`` ``(H, W, ...)`` by more than
    ``tolerance`` px: a landmark there was extrapolated by the fitter (the jaw of a crop that
    cuts the cheeks), not seen.

    Example:
        >>> outside(np.array([[5.0, 5.0], [-3.0, 5.0], [9.5, 9.0]]), (10, 10)).tolist()
        [False, True, False]
    """
    h, w = shape[:2]
    p = np.asarray(points, dtype=np.float64)
    return ((p[:, 0] < -tolerance) | (p[:, 0] > w - 1 + tolerance) | (p[:, 1] < -tolerance)
            | (p[:, 1] > h - 1 + tolerance))


def calibration_matrix(landmarks: np.ndarray, size: int = 224, span: float = SPAN,
                       unseen: np.ndarray | None = None) -> np.ndarray:
    """The similarity transform taking ``landmarks`` onto the canonical template in a ``size`` x
    ``size`` canvas (:func:`~mezoo.face.template.canonical_landmarks`, with ``span``).

    The rotation levels the eye line (the line through the two eye centres, 36-41 and 42-47):
    the eyes are the landmarks dlib places best, and a rotation fitted to the brows too tilted a
    face whose brows are not symmetric (one raised, a head turned a little) by several degrees.
    The scale and position are then fitted in least squares (:func:`scale_fit`) over the
    :data:`STABLE_POINTS` that were seen (``unseen``: ``(68,)`` bool, the landmarks outside the
    image, left out), with outlier rejection: points whose residual exceeds three times the
    median (and 5 % of the template's inter-ocular distance) are dropped, and the fit repeated,
    up to three times. A point is dropped together with its mirror partner (left brow end with
    right brow end, ...), so the points kept are always left-right symmetric.

    Returns:
        ``(2, 3)`` float64 matrix.

    Raises:
        MezooError: the landmarks are degenerate.
    """
    template = canonical_landmarks(size, span)
    src = np.asarray(landmarks, dtype=np.float64)
    seen = np.ones(68, dtype=bool) if unseen is None else ~np.asarray(unseen, dtype=bool)
    seen &= seen[list(MIRROR_68)]  # a point counts only with its mirror partner
    stable = np.array([i for i in STABLE_POINTS if seen[i]])
    if len(stable) < 10 or not np.isfinite(src[stable]).all():
        raise MezooError("calibration failed: too few of the brow, nose and eye landmarks lie in the image")
    angle = np.radians(eye_angle(src))
    cos, sin = np.cos(-angle), np.sin(-angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    keep = stable
    floor = 0.05 * inter_ocular(template)
    matrix = scale_fit(src[keep], template[keep], rotation)
    for _ in range(3):
        residual = np.full(68, np.nan)
        residual[stable] = np.linalg.norm(transform_points(src[stable], matrix) - template[stable], axis=1)
        paired = np.fmax(residual, residual[list(MIRROR_68)])  # a point and its mirror, judged together
        bound = max(3.0 * float(np.nanmedian(paired[keep])), floor)
        kept = stable[paired[stable] <= bound]
        if len(kept) == len(keep) or len(kept) < 10:
            break
        keep = kept
        matrix = scale_fit(src[keep], template[keep], rotation)
    if not np.isfinite(matrix).all():
        raise MezooError("calibration failed: the landmarks are degenerate")
    return matrix


#: How far :func:`onto_recorded` may move the canvas, as a fraction of its side.
CANVAS_REACH = 0.08


def onto_recorded(matrix: np.ndarray, shape: tuple[int, ...], size: int = 224,
                  reach: float = CANVAS_REACH) -> np.ndarray:
    """``matrix`` with its canvas moved (never turned or scaled) to where most of it is recorded.

    The canvas may move by up to ``reach`` of its side each way, in whole pixels; of the
    positions whose share of recorded pixels (:func:`valid_mask`) is within half a percent of
    the best, the nearest to where the fit put it wins, so a face that the canvas holds whole
    does not move at all. A tight crop's face then fills the canvas as far as its recorded
    pixels allow, and its scale, which the landmarks alone set, stays comparable with every
    other face's.

    Example:
        >>> m = np.array([[1.0, 0, 10], [0, 1.0, 0]])  # a 100 px image shifted 10 px right
        >>> onto_recorded(m, (100, 100), 100)[:, 2].tolist()
        [2.0, 0.0]
    """
    reach_px = int(round(reach * size))
    if reach_px < 1 or not np.isfinite(matrix).all():
        return matrix
    big = size + 2 * reach_px
    wide = matrix.copy()
    wide[:, 2] += reach_px
    valid = valid_mask(shape, wide, big).astype(np.float64)
    integral = np.pad(valid.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    offsets = np.arange(2 * reach_px + 1)
    y0, x0 = np.meshgrid(offsets, offsets, indexing="ij")
    share = (integral[y0 + size, x0 + size] - integral[y0, x0 + size] - integral[y0 + size, x0]
             + integral[y0, x0]) / size**2
    distance = np.hypot(y0 - reach_px, x0 - reach_px)
    near = np.where(share >= share.max() - 0.005, distance, np.inf)
    y, x = np.unravel_index(np.argmin(near), near.shape)
    moved = matrix.copy()
    moved[:, 2] -= [x - reach_px, y - reach_px]
    return moved


@dataclass(frozen=True)
class Calibration:
    """How a face was found in an image and calibrated to a ``size`` x ``size`` canvas.

    ``status``: one of :data:`STATUSES`. ``matrix`` ``(2, 3)`` maps the source image into the
    canvas (for a clip: every frame, with the onset's matrix); ``landmarks`` ``(68, 2)`` are the
    face's landmarks on the canvas, ``raw`` in the source image. ``frame``: what the image was (a
    path, or a name for messages). ``mask`` ``(size, size)`` bool: which canvas pixels come from
    the source image (all ``False`` when failed). ``faces``: how many faces the detector found
    (the largest, or the tracked one, is used); ``shape``: the source image's ``(height, width)``.
    ``unseen`` ``(68,)`` bool: the landmarks that lie outside the source image (:func:`outside`;
    the jaw of a crop that cuts the cheeks): the fitter extrapolated them, so they are left out
    of the fit, and on the canvas :attr:`landmarks` holds the template's point for them (where
    the fit of the seen points puts them), so they drive nothing either.
    """

    status: str
    matrix: np.ndarray
    landmarks: np.ndarray
    raw: np.ndarray
    frame: str
    mask: np.ndarray
    faces: int
    shape: tuple[int, int]
    unseen: np.ndarray

    @property
    def size(self) -> int:
        """The canvas side."""
        return int(self.mask.shape[0])

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def boxes(self) -> np.ndarray:
        """The ``(9, 4)`` AU boxes (:func:`mezoo.face.au_boxes`, placed on this canvas's recorded
        pixels) of :attr:`landmarks` (NaN when failed)."""
        if self.failed:
            return np.full((9, 4), np.nan)
        import torch

        from mezoo.face.au_regions import au_boxes

        mask = torch.from_numpy(self.mask)[None, None].float()
        return au_boxes(torch.as_tensor(self.landmarks, device="cpu")[None], mask=mask)[0].numpy()

    @property
    def recorded(self) -> np.ndarray:
        """``(9,)``: the share of each AU box (:attr:`boxes`) on recorded pixels (NaN when failed)."""
        if self.failed:
            return np.full(9, np.nan)
        import torch

        from mezoo.face.au_regions import box_validity

        mask = torch.from_numpy(self.mask)[None, None].float()
        return box_validity(mask, torch.as_tensor(self.boxes, dtype=torch.float32, device="cpu")[None])[0].numpy()

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
        return (f"face {how}{several}; eye line {self.eye_angle:+.1f} deg; {self.valid:.0%} of the canvas and "
                f"{float(np.min(self.recorded)):.0%} of the worst AU box on recorded pixels")

    def warp(self, image: np.ndarray) -> np.ndarray:
        """``image`` (the source image, or another frame of its clip, of the same size) on the canvas."""
        return warp(image, self.matrix, self.size)


def calibration(raw: np.ndarray | None, size: int = 224, span: float = SPAN, *, status: str = "detected",
                frame: str = "", faces: int = 1, shape: tuple[int, int] = (0, 0),
                matrix: np.ndarray | None = None) -> Calibration:
    """The :class:`Calibration` of a face whose landmarks in the source image are ``raw``.

    ``matrix``: the transform to use instead of :func:`calibration_matrix` of ``raw`` (a dataset
    whose frames are only resized). ``raw`` ``None`` or ``status`` ``failed``: no face (the matrix
    NaN unless given, the landmarks NaN, nothing valid). ``shape``: the source image's ``(height,
    width)``; landmarks outside it are :attr:`~Calibration.unseen` (none when ``shape`` is
    ``(0, 0)``, unknown).

    Example:
        >>> cal = calibration(canonical_landmarks(112) * 2 + 5, 112, shape=(240, 240))
        >>> cal.status, abs(round(cal.eye_angle, 6)), cal.valid
        ('detected', 0.0, 1.0)
    """
    shape = (int(shape[0]), int(shape[1]))
    if status == "failed" or raw is None and matrix is None:
        nan = np.full((68, 2), np.nan)
        return Calibration("failed", np.full((2, 3), np.nan) if matrix is None else matrix, nan,
                           nan if raw is None else raw, frame, np.zeros((size, size), dtype=bool), faces, shape,
                           np.zeros(68, dtype=bool))
    raw = np.full((68, 2), np.nan) if raw is None else np.asarray(raw, dtype=np.float64)
    unseen = outside(raw, shape) if shape[0] > 0 and np.isfinite(raw).all() else np.zeros(68, dtype=bool)
    fit = None
    if matrix is None:
        fit = calibration_matrix(raw, size, span, unseen)
        matrix = onto_recorded(fit, shape, size) if shape[0] > 0 else fit
    landmarks = transform_points(raw, matrix)
    # Unseen points (a fitted face's, not a dataset's own landmarks) go where the fit of the seen
    # points puts the template's, moved with the canvas; also for a matrix read back from a cache.
    if status != "known" and unseen.any():
        fit = calibration_matrix(raw, size, span, unseen) if fit is None else fit
        landmarks[unseen] = canonical_landmarks(size, span)[unseen] + (matrix[:, 2] - fit[:, 2])
    return Calibration(status, matrix, landmarks, raw, frame, valid_mask(shape, matrix, size), faces, shape, unseen)
