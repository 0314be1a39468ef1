"""Calibration on a real face cut the way datasets cut it: tight crops, tilted heads, two faces.

The photo is scikit-image's astronaut. A dataset's crop (CASME II ``Cropped/``, the MEGC2019
crops) runs from the brows to the chin across the face; the tests cut it from the photo after
rotating the head, as a crop of a tilted head is, so the calibration must rotate it back.
``casme_size`` scales the photo first so that the crop has CASME II's resolution (~280 px).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage import data as skimage_data

from mezoo.data.casme2 import CASME2
from mezoo.displacement.farneback import farneback_flow
from mezoo.displacement.of_norm import OFNorm
from mezoo.face.calibration import eye_angle, transform_points
from mezoo.face.landmarks import LandmarkDetector
from mezoo.face.template import SPAN
from mezoo.data.faces import FaceReader
from tests.data.native_trees import casme2_tree

ANGLES = (-20, -10, 0, 10, 20)


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector()


@pytest.fixture(scope="module")
def casme_size(detector) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo scaled so her face has CASME II's size, and its landmarks."""
    photo = cv2.resize(skimage_data.astronaut(), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    return photo, detector(photo).landmarks


def tight_crop(photo: np.ndarray, landmarks: np.ndarray, angle: float, pad: float = 0.05,
               shift: float = 0.0, cheeks: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The photo with the head rotated by ``angle`` degrees (and moved ``shift`` px right), cut
    to the box of the brows, jaw and chin plus ``pad`` of its size (``cheeks`` False: only 0.82
    of its height wide, centred on the nose, as CASME II cuts): the crop and its true landmarks."""
    centre = landmarks[27:36].mean(0)
    rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
    rot[0, 2] += shift
    moved = cv2.warpAffine(photo, rot, photo.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    lm = transform_points(landmarks, rot)
    if shift:  # the same box as the unshifted crop: the face moves inside it
        lm = lm - [shift, 0]
    (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
    if not cheeks:
        nose = lm[27:36, 0].mean()
        x0, x1 = nose - 0.41 * (y1 - y0), nose + 0.41 * (y1 - y0)
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    x0, y0, x1, y1 = (int(round(v)) for v in (x0 - px, y0 - py, x1 + px, y1 + py))
    return np.ascontiguousarray(moved[y0:y1, x0:x1]), lm + [shift, 0] - [x0, y0]


@pytest.mark.parametrize("angle", ANGLES)
def test_tilted_tight_crop_comes_out_level_and_filling_the_canvas(casme_size, angle):
    photo, landmarks = casme_size
    reader = FaceReader(size=224, cache=False)
    crop, truth = tight_crop(photo, landmarks, angle)
    assert abs(eye_angle(truth)) > abs(angle) - 5  # the crop's head really is tilted
    clip = reader.calibrate(crop)
    assert clip.status in ("detected", "padded")
    # the pipeline's own landmarks (what `mezoo prepare` reports) are level, and so is the true
    # eye line carried through the same transform (dlib's fit on a crop is off by ~1.5 px)
    assert abs(clip.eye_angle) <= 1.0
    assert abs(eye_angle(transform_points(truth, clip.matrix))) <= 2.0
    assert clip.valid >= 0.85
    # the face's own framing: SPAN face heights (brow top to chin, measured upright) across 224 px
    scale = float(np.sqrt(abs(np.linalg.det(clip.matrix[:, :2]))))
    upright = transform_points(truth, cv2.getRotationMatrix2D((0.0, 0.0), -eye_angle(truth), 1.0))
    height = upright[8, 1] - upright[17:27, 1].min()
    assert scale == pytest.approx(224 / (SPAN * height), rel=0.1)


def test_crop_cut_exactly_at_the_landmarks_still_mostly_fills_the_canvas(casme_size):
    # no pixel to spare around the brows, jaw and chin: measured 0.845 (-20 deg) to 0.90 valid
    photo, landmarks = casme_size
    reader = FaceReader(size=224, cache=False)
    for angle in ANGLES:
        crop, _ = tight_crop(photo, landmarks, angle, pad=0.0)
        assert reader.calibrate(crop).valid >= 0.80, angle


@pytest.mark.parametrize("shift", [0.5, 1.0])
def test_known_shift_is_measured_on_the_face_and_nothing_outside(casme_size, shift):
    photo, landmarks = casme_size
    reader = FaceReader(size=224, cache=False)
    onset, truth = tight_crop(photo, landmarks, 10, pad=0.0, cheeks=False)
    apex, _ = tight_crop(photo, landmarks, 10, pad=0.0, shift=shift, cheeks=False)
    clip = reader.calibrate(onset)
    frames = [torch.from_numpy(clip.warp(f)).permute(2, 0, 1)[None].float() / 255
              for f in (onset, apex)]
    mask = torch.from_numpy(clip.mask)[None, None].float()
    assert mask.mean() < 1.0  # part of the canvas lies outside the crop: the case under test
    flow = farneback_flow(*frames, mask=mask)[0]
    normalised = OFNorm()(*frames, mask)[0]
    # the true motion on the canvas: the shift through the calibration's linear part
    expected = torch.as_tensor(clip.matrix[:, :2] @ [shift, 0.0], dtype=torch.float32)
    # the face: valid pixels inside the hull of the landmarks, eroded past Farneback's window
    face = np.zeros((224, 224), np.uint8)
    hull = cv2.convexHull(transform_points(truth, clip.matrix).astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(face, hull, 1)
    face = torch.from_numpy(cv2.erode(face, np.ones((15, 15), np.uint8)).astype(bool)) & (mask[0, 0] > 0)
    along = (flow[:, face] * expected[:, None]).sum(0) / expected.norm()
    assert along.median() >= 0.9 * expected.norm()
    assert (flow[:, mask[0, 0] == 0].abs() <= 0.1).all()
    # no streak of junk at the canvas's edge: the valid pixels' flow stays near the true motion
    assert flow.norm(dim=0)[mask[0, 0] > 0].quantile(0.99) <= 3 * expected.norm()
    # OF+NORM: the face carries the (uniform) motion, so it sits near unit RMS, not near 0
    assert normalised.norm(dim=0)[face].median() >= 0.9
    assert (normalised[:, mask[0, 0] == 0] == 0).all()


def test_two_faces_take_the_larger_and_are_counted(tmp_path):
    photo = skimage_data.astronaut()
    small = cv2.resize(photo, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    pair = np.zeros((512, 512 + small.shape[1], 3), np.uint8)
    pair[:, :512] = photo
    pair[:small.shape[0], 512:] = small
    root = casme2_tree(tmp_path, rows=[(1, "EP01_01", 1, 2, 3, "happiness")], frame=lambda n: pair)
    sample = CASME2(root).samples()[0]
    reader = FaceReader(size=224, cache=False)
    clip = reader.clip(sample)
    assert clip.faces == 2
    # the larger face, on the left: its landmarks lie in the left photo
    assert clip.raw[:, 0].max() < 512
    assert reader.summary()[0]["several_faces"] == 1
