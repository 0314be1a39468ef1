"""A trained model on new material: two image files -> class, and a 640 x 480, 30 fps video.

Targets, on 2 CPU cores: ``predict_pair`` from two files <= 100 ms median; a video
processed faster than real time (> 30 frames/s; docs/inference.md states the figure). The weights do not
change the time, so the model is the default one (``mezoo train``'s settings: Farneback + Fu-B-Attn,
224 px faces) and the DGM variant (the paper's model) untrained; the face pipeline is the real one
(dlib, no cache).

    pytest benchmarks/test_predict.py --benchmark-only --benchmark-columns=median,iqr,rounds
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mezoo.inference.predictor import Predictor
from mezoo.model import build_model
from mezoo.settings import load_settings


def _predictor(displacement: str) -> Predictor:
    settings = load_settings(overrides={"displacement": {"name": displacement}, "run": {"device": "cpu"}})
    return Predictor.from_model(build_model(settings, 3).eval(), settings, ("negative", "positive", "surprise"))


@pytest.mark.parametrize("displacement", ["farneback", "dgm"])
def test_predict_pair_from_files(benchmark, displacement, tmp_path):
    """Onset and apex as 640 x 480 JPEGs (a face about 155 px wide, cut from scikit-image's
    astronaut photo, as CASME II frames it); the apex is the onset shifted by a pixel."""
    skimage = pytest.importorskip("skimage.data")
    photo = cv2.resize(cv2.cvtColor(skimage.astronaut()[0:270, 42:402], cv2.COLOR_RGB2BGR), (640, 480),
                       interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "onset.jpg"), photo)
    cv2.imwrite(str(tmp_path / "apex.jpg"), cv2.warpAffine(photo, np.float32([[1, 0, 1], [0, 1, 0]]), (640, 480)))
    model = _predictor(displacement)
    model.detector.load()  # the landmark model is read once per process, not per prediction
    benchmark.group = "predict pair cpu"
    benchmark.extra_info.update(model=f"{displacement} + fu_b_attn", frames="640 x 480 JPEG")
    result = benchmark.pedantic(model.predict_pair, args=(tmp_path / "onset.jpg", tmp_path / "apex.jpg"),
                                warmup_rounds=3, rounds=20, iterations=1)
    assert result.label in model.classes


def test_predict_video(benchmark, tmp_path):
    """A 13 s, 640 x 480, 30 fps MP4 of three synthetic clips between still stretches (``mezoo
    synthetic-video``): tracking, spotting, and classifying what is spotted; frames/s in extra_info."""
    from mezoo.data.synthetic import SyntheticDataset, write_video

    people = [s for s in SyntheticDataset(subjects=2, clips_per_subject=3, seed=1).samples() if s.subject == "s00"]
    path = tmp_path / "demo.mp4"
    write_video(path, people)
    model = _predictor("farneback")
    model.detector.load()
    benchmark.group = "predict video cpu"
    result = benchmark.pedantic(model.predict_video, args=(path,), warmup_rounds=1, rounds=3, iterations=1)
    frames = result.last - result.first + 1
    benchmark.extra_info.update(frames=frames, frames_per_second=round(frames / benchmark.stats.stats.median, 1),
                                intervals=len(result.intervals))
    assert len(result.intervals) == 3
