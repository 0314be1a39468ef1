"""The framing on faces cut the way the releases cut them (``mezoo.face.release_crops``), from real
photos that installed packages ship (``mezoo.face.photos``), with the head turned -15, 0 and +15
degrees: at least 85 % of the canvas and of every AU box on recorded pixels, the eye line level,
and landmarks no worse than dlib's own fit against hand annotations."""

from __future__ import annotations

import dlib
import numpy as np
import pytest

from mezoo.face.calibration import calibration, eye_angle, transform_points
from mezoo.face.landmarks import LandmarkDetector
from mezoo.face.photos import FITTED, package_photos, read_pts
from mezoo.face.release_crops import RELEASE_SHAPES, TILTS, face_height, release_crop


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector()


@pytest.fixture(scope="module")
def photos(detector) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every package photo and its face's landmarks: the hand-made ones, or dlib's on the uncut photo."""
    found = {}
    for p in package_photos():
        found[p.name] = (p.image, p.annotation if p.annotation is not None else detector(p.image).landmarks)
    return found


def test_the_photos_are_there_with_their_annotations():
    photos = {p.name: p for p in package_photos()}
    assert set(photos) == {"astronaut", "grace_hopper", "einstein", "lenna", "takeo", "breakingbad"}
    for p in photos.values():
        assert p.image.ndim == 3 and p.image.dtype == np.uint8 and p.source and p.licence
        if p.annotation is not None:
            h, w = p.image.shape[:2]
            assert p.annotation.shape == (68, 2)
            assert (p.annotation >= 0).all() and (p.annotation[:, 0] < w).all() and (p.annotation[:, 1] < h).all()
            # the iBUG order: the eyes between the brows and the mouth, the left eye on the left
            assert p.annotation[17:27, 1].mean() < p.annotation[36:48, 1].mean() < p.annotation[48:68, 1].mean()
            assert p.annotation[36:42, 0].mean() < p.annotation[42:48, 0].mean()
    assert sum(p.annotation is not None for p in photos.values()) == 4


def test_pts_files_count_from_one(tmp_path):
    (tmp_path / "a.pts").write_text("version: 1\nn_points: 2\n{\n1 1\n10.5 20\n}\n")
    assert read_pts(tmp_path / "a.pts").tolist() == [[0.0, 0.0], [9.5, 19.0]]


@pytest.mark.parametrize("shape", RELEASE_SHAPES)
def test_release_crops_are_cut_as_documented(photos, shape):
    image, landmarks = photos["astronaut"]
    crop, points = release_crop(image, landmarks, shape, 0.0)
    h, w = crop.shape[:2]
    height = face_height(points)
    if shape == "casme2":
        assert w / h == pytest.approx(0.82, abs=0.01) and h == pytest.approx(340, abs=3)
        assert points[17:27, 1].min() == pytest.approx(0, abs=1) and height == pytest.approx(h, abs=2)
    elif shape == "square224":
        assert (h, w) == (224, 224) and height == pytest.approx(224, abs=2)
    elif shape == "face_box":
        assert w == pytest.approx(h, abs=1) and points[17:27, 1].min() == pytest.approx(0.1 * height, abs=2)
    else:
        assert (h, w) == (480, 640) and height == pytest.approx(150, abs=2)
    with pytest.raises(ValueError, match="unknown release shape 'casme3'"):
        release_crop(image, landmarks, "casme3")


@pytest.mark.parametrize("shape", RELEASE_SHAPES)
def test_framing_keeps_canvas_and_boxes_on_recorded_pixels(photos, shape):
    """The framing rule itself, with every photo's true landmarks: nothing of the fitter in it."""
    for name, (image, landmarks) in photos.items():
        for tilt in TILTS:
            crop, truth = release_crop(image, landmarks, shape, tilt)
            cal = calibration(truth, 224, shape=crop.shape[:2])
            where = f"{name} cut as {shape}, head turned {tilt:+g} deg"
            assert cal.valid >= 0.85, where
            assert cal.recorded.min() >= 0.85, where
            assert abs(cal.eye_angle) <= 1e-6, where


@pytest.mark.parametrize("shape", RELEASE_SHAPES)
def test_the_pipeline_on_release_crops_meets_the_targets(photos, detector, shape):
    """Detection, landmarks and calibration, as ``mezoo prepare`` runs them."""
    true_angles = []
    for name in FITTED:
        image, landmarks = photos[name]
        for tilt in TILTS:
            crop, truth = release_crop(image, landmarks, shape, tilt)
            cal = detector.calibrate(crop, 224)
            where = f"{name} cut as {shape}, head turned {tilt:+g} deg: {cal.describe()}"
            assert not cal.failed, where
            assert cal.valid >= 0.85, where
            assert cal.recorded.min() >= 0.85, where
            assert abs(cal.eye_angle) <= 1.0, where
            true_angles.append(abs(eye_angle(transform_points(truth, cal.matrix))))
    # the true eye line (the photo's own points carried through the same transform) is level to a
    # degree on most crops; the rest is the fitter's error on a cut face
    assert np.median(true_angles) <= 1.0


def test_landmarks_are_no_worse_than_dlibs_own_fit(detector):
    """Against the hand-made points, on the uncut photos and every release crop: the pipeline's
    landmarks are dlib's own fit in the box it found (nothing refitted on top makes them worse)."""
    def error(points: np.ndarray, truth: np.ndarray) -> float:
        return float(np.linalg.norm(points - truth, axis=1).mean() / np.linalg.norm(truth[36] - truth[45]))

    compared = 0
    for p in package_photos(annotated_only=True):
        cuts = [(p.image, p.annotation)] + [release_crop(p.image, p.annotation, shape, tilt)
                                            for shape in RELEASE_SHAPES for tilt in TILTS]
        for image, truth in cuts:
            found = detector(image)
            if found is None:
                continue
            plain = detector._predictor(np.ascontiguousarray(image), dlib.rectangle(*found.box))
            plain = np.array([(q.x, q.y) for q in plain.parts()], dtype=np.float64)
            assert error(found.landmarks, truth) <= error(plain, truth) + 1e-9
            compared += 1
    assert compared >= 40
