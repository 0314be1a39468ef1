"""One calibration: a ``Calibration`` made by ``calibration()`` (or ``LandmarkDetector.calibrate``)
and applied by ``warp``, on a real face (scikit-image's astronaut) as a 640 x 480 frame and a tight,
tilted crop, and on two faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from mezoo.face.calibration import (
    STATUSES, calibration, calibration_matrix, eye_angle, onto_recorded, transform_points, valid_mask, warp,
)
from mezoo.face.landmarks import LandmarkDetector
from mezoo.face.template import canonical_landmarks


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A 640 x 480 frame with the astronaut's face small in it, turned by 12 degrees."""
    canvas = np.full((480, 640, 3), 90, np.uint8)
    face = cv2.resize(skimage_data.astronaut()[0:300, 100:380], (224, 240), interpolation=cv2.INTER_AREA)
    canvas[120:360, 300:524] = face
    rot = cv2.getRotationMatrix2D((412.0, 240.0), 12, 1.0)
    return cv2.warpAffine(canvas, rot, (640, 480), borderMode=cv2.BORDER_REFLECT)


def test_from_landmarks_the_face_is_on_the_template():
    raw = canonical_landmarks(112) * 1.7 + [40.0, 25.0]
    cal = calibration(raw, 112, shape=(300, 320))
    assert cal.status == "detected" and cal.size == 112 and cal.shape == (300, 320)
    assert np.allclose(cal.landmarks, canonical_landmarks(112), atol=1e-9)
    assert np.allclose(cal.matrix, calibration_matrix(raw, 112))
    assert cal.eye_angle == pytest.approx(0.0, abs=1e-9) and cal.valid == 1.0
    assert cal.boxes.shape == (9, 4) and np.isfinite(cal.boxes).all()


def test_a_given_matrix_is_kept_and_a_failure_has_nothing_valid():
    matrix = np.array([[0.5, 0, 0], [0, 0.5, 0]])
    known = calibration(canonical_landmarks(224), 112, status="known", shape=(224, 224), matrix=matrix)
    assert known.matrix is matrix and np.allclose(known.landmarks, canonical_landmarks(224) * 0.5)
    failed = calibration(None, 64, status="failed", frame="f.jpg", faces=0, shape=(50, 60))
    assert failed.failed and failed.status in STATUSES and not failed.mask.any() and failed.mask.shape == (64, 64)
    assert np.isnan(failed.landmarks).all() and np.isnan(failed.boxes).all() and np.isnan(failed.eye_angle)
    assert failed.describe().startswith("face not found")


def test_the_warp_of_a_calibration_is_the_one_warp(frame, detector):
    cal = detector.calibrate(frame, 224, name="frame")
    assert cal.status == "detected" and cal.frame == "frame"
    assert np.array_equal(cal.warp(frame), warp(frame, cal.matrix, 224))
    assert np.array_equal(cal.mask, valid_mask(frame.shape, cal.matrix, 224))
    assert abs(cal.eye_angle) < 2.0  # the 12 degree turn undone
    face = cal.warp(frame)
    assert not face[~cal.mask].any()  # outside the source image: zeros, not invented pixels


def test_detector_calibrate_is_detection_then_calibration(frame, detector):
    """The same numbers as fitting and calibrating by hand: with the detector's own box (dlib's
    own fit in it, nothing refitted), and in a tracked box."""
    import dlib

    found = detector(frame)
    plain = detector._predictor(frame, dlib.rectangle(*found.box))
    assert np.array_equal(found.landmarks, [(p.x, p.y) for p in plain.parts()])
    cal = detector.calibrate(frame, 224, 0.9)
    assert np.array_equal(cal.raw, found.landmarks)
    assert np.array_equal(cal.matrix, onto_recorded(calibration_matrix(found.landmarks, 224, 0.9), frame.shape, 224))
    assert np.array_equal(cal.landmarks, transform_points(found.landmarks, cal.matrix))
    tracked = detector.calibrate(frame, 112, 0.9, box=found.box, faces=2)
    raw = detector.fit(frame, found.box)
    assert np.array_equal(tracked.matrix, onto_recorded(calibration_matrix(raw, 112, 0.9), frame.shape, 112))
    assert tracked.faces == 2


def test_landmarks_outside_the_image_drive_nothing():
    """A crop that cuts the cheeks: the jaw points dlib would extrapolate past the image are
    unseen, left out of the fit and put where the seen points say they are."""
    truth = canonical_landmarks(200) + [40.0, 10.0]
    raw = truth.copy()
    raw[0:4] += [-80.0, 0.0]  # extrapolated far off, out of the image on the left
    cal = calibration(raw, 200, shape=(260, 280))
    assert cal.unseen[0:4].all() and not cal.unseen[4:].any()
    clean = calibration(truth, 200, shape=(260, 280))
    assert np.allclose(cal.matrix, clean.matrix)
    assert np.allclose(cal.landmarks[0:4], canonical_landmarks(200)[0:4])
    # a tight crop: the canvas moves onto the recorded pixels, and the unseen points move with it;
    # read back from the cache (the stored matrix given), the calibration is the same
    tight = calibration(raw[:, :] - [60.0, 0.0], 200, shape=(260, 190))
    shift = tight.matrix[:, 2] - calibration_matrix(raw - [60.0, 0.0], 200, unseen=tight.unseen)[:, 2]
    assert np.abs(shift).max() > 1 and tight.unseen[0:4].all()
    assert np.allclose(tight.landmarks[tight.unseen], canonical_landmarks(200)[tight.unseen] + shift)
    again = calibration(tight.raw, 200, shape=(260, 190), matrix=tight.matrix)
    assert np.allclose(again.landmarks, tight.landmarks) and np.array_equal(again.unseen, tight.unseen)


def test_the_eye_line_sets_the_rotation():
    """A face whose brows are not level (one raised) comes out with its eye line level."""
    raw = canonical_landmarks(224).copy()
    raw[22:27, 1] -= 12.0  # the right brow raised
    angle = np.radians(10)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    tilted = raw @ rot.T + [60.0, 40.0]
    cal = calibration(tilted, 224, shape=(400, 400))
    assert cal.eye_angle == pytest.approx(0.0, abs=1e-6)


def test_no_face_is_a_failed_calibration_not_an_error(detector):
    flat = np.full((240, 320, 3), 128, np.uint8)
    cal = detector.calibrate(flat, 224, name="blank.png")
    assert cal.failed and cal.faces == 0 and cal.frame == "blank.png"


def test_two_faces_the_largest_is_calibrated(detector):
    """Two people in a 640 x 480 frame, the one on the right smaller (0.8 of the other)."""
    face = skimage_data.astronaut()[0:260, 110:370]
    scene = np.full((480, 640, 3), 70, np.uint8)
    scene[100:360, 20:280] = face
    small = cv2.resize(face, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    scene[120:120 + small.shape[0], 360:360 + small.shape[1]] = small
    cal = detector.calibrate(scene, 224)
    assert cal.faces == 2
    assert cal.raw[:, 0].max() < 300  # the larger face, on the left
    assert "largest of 2 faces" in cal.describe()
    assert abs(eye_angle(cal.landmarks)) < 3.0
