"""Spotting on a real face: scikit-image's astronaut photo filmed as a 640 x 480, 30 fps video
beside a second face, with a real-sized lip-corner pull (AU12) played on it while the head drifts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def _video(path, expression_at: int, frames: int = 150) -> None:
    skimage = pytest.importorskip("skimage.data")
    from mezoo.face.landmarks import LandmarkDetector

    photo = skimage.astronaut()[0:270, 42:402]
    big = cv2.resize(photo, (280, 210), interpolation=cv2.INTER_AREA)  # the tracked (larger) face
    small = cv2.resize(photo[:, ::-1], (240, 180), interpolation=cv2.INTER_AREA)  # a second person
    landmarks = LandmarkDetector()(big).landmarks
    grid = np.mgrid[0:210, 0:280].astype(np.float32)[::-1].transpose(1, 2, 0)  # (x, y) per pixel
    field = np.zeros_like(grid)
    for corner, direction in ((48, (-0.6, -0.8)), (54, (0.6, -0.8))):  # lip corners pulled up and out
        d2 = ((grid - landmarks[corner]) ** 2).sum(-1)
        field += np.exp(-d2 / (2 * 7.0**2))[..., None] * np.float32(direction)
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for t in range(frames):
        rise = np.clip(1 - abs(t - expression_at) / 5, 0, 1)  # 5 frames up to the apex, 5 back
        amplitude = 2.5 * np.sin(0.5 * np.pi * rise) ** 2  # pixels at the lip corners
        maps = (grid - np.float32(amplitude) * field).astype(np.float32)
        face = cv2.remap(big, np.ascontiguousarray(maps[..., 0]), np.ascontiguousarray(maps[..., 1]), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
        frame = np.full((480, 640, 3), 70, np.float32)
        frame[150:360, 20:300] = face
        frame[170:350, 360:600] = small
        drift = np.float32([[1, 0, 0.02 * t], [0, 1, 0.01 * t]])  # the camera (or the head) drifts slowly
        frame = cv2.warpAffine(frame, drift, (640, 480), borderMode=cv2.BORDER_REPLICATE)
        frame += rng.normal(0, 1.5, frame.shape)
        writer.write(cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    writer.release()


def test_a_lip_corner_pull_on_a_real_face_is_spotted_beside_a_second_face(trained, tmp_path):
    import mezoo

    _video(tmp_path / "astronaut.mp4", expression_at=80)
    video = mezoo.load_model(trained[2]).predict_video(tmp_path / "astronaut.mp4")
    assert not video.no_face
    assert [abs(i.apex - 80) <= 2 for i in video.intervals] == [True], [i.as_dict() for i in video.intervals]
    assert video.intervals[0].label in ("negative", "positive", "surprise")
