"""mezoo.load_model and the Predictor: pairs, clips, videos, LOSO ensembles, bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import mezoo
from mezoo.errors import DataError
from mezoo.face.landmarks import FaceError
from mezoo.inference.modeldir import ModelError
from mezoo.inference.predictor import Predictor


def test_a_saved_model_predicts_what_the_model_in_memory_predicts(trained, people):
    settings, done, path = trained
    in_memory = Predictor.from_model(done.model, settings, done.classes)
    loaded = mezoo.load_model(path)
    assert loaded.classes == done.classes == ("negative", "positive", "surprise")
    info = json.loads((path / "model.json").read_text())
    assert info["data"]["samples"] == 24 and info["data"]["subjects"] == 4
    assert info["components"]["fusion"] == {"name": "fu_b_attn", "distribution": "mezoo", "version": mezoo.__version__}
    for sample in people[:3]:
        onset, apex = sample.read_frame(sample.onset), sample.read_frame(sample.apex)
        a, b = in_memory.predict_pair(onset, apex), loaded.predict_pair(onset, apex)
        assert a.label == b.label
        np.testing.assert_allclose(list(a.probs.values()), list(b.probs.values()), atol=1e-6)
        assert sum(b.probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_images_as_paths_arrays_grey_and_floats_give_one_answer(trained, people, tmp_path):
    model = mezoo.load_model(trained[2])
    sample = people[0]
    onset, apex = sample.read_frame(sample.onset), sample.read_frame(sample.apex)
    for name, image in (("onset.png", onset), ("apex.png", apex)):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    from_arrays = model.predict_pair(onset, apex).probs
    from_files = model.predict_pair(tmp_path / "onset.png", str(tmp_path / "apex.png")).probs
    from_floats = model.predict_pair(onset / 255.0, apex / 255.0).probs
    np.testing.assert_allclose(list(from_files.values()), list(from_arrays.values()), atol=1e-6)  # PNG is lossless
    np.testing.assert_allclose(list(from_floats.values()), list(from_arrays.values()), atol=1e-6)
    grey = model.predict_pair(cv2.cvtColor(onset, cv2.COLOR_RGB2GRAY), cv2.cvtColor(apex, cv2.COLOR_RGB2GRAY))
    assert set(grey.probs) == set(model.classes)


def test_a_clip_gets_its_apex_spotted_then_classified(trained, people, tmp_path):
    model = mezoo.load_model(trained[2])
    errors = []
    for sample in people[:4]:
        frames = [sample.read_frame(i) for i in range(len(sample))]
        spotted = model.predict_clip(frames)
        errors.append(abs(spotted.apex - sample.apex))
        given = model.predict_clip(frames, apex=sample.apex)
        pair = model.predict_pair(frames[0], frames[sample.apex])
        assert given.probs == pytest.approx(pair.probs, abs=1e-6)  # a clip with its apex is its onset/apex pair
        assert (given.onset, given.apex, given.offset) == (0, sample.apex, len(sample) - 1)
    assert np.mean(errors) <= 1.5, errors
    folder = tmp_path / "clip"
    folder.mkdir()
    sample = people[1]
    for i in range(len(sample)):  # numbered as datasets number frames: img2 comes before img10
        cv2.imwrite(str(folder / f"img{i + 1}.png"), cv2.cvtColor(sample.read_frame(i), cv2.COLOR_RGB2BGR))
    from_folder = model.predict_clip(folder, apex=sample.apex)
    assert from_folder.probs == pytest.approx(model.predict_clip([sample.read_frame(i) for i in range(len(sample))],
                                                                 apex=sample.apex).probs, abs=1e-6)


def test_a_loso_run_directory_is_an_ensemble_of_its_folds(tmp_path, people):
    from mezoo.inference.modeldir import read_model_dir
    from mezoo.loso.runner import run_loso

    from tests.inference.conftest import small_settings

    settings = small_settings(tmp_path / "cache", dataset={"synthetic": {"subjects": 2, "clips_per_subject": 3}},
                              train={"epochs": 1}, run={"checkpoints": True})
    run = run_loso(settings, tmp_path / "run", progress=False)
    ensemble = mezoo.load_model(run.run_dir)
    assert len(ensemble.models) == 2 and "ensemble of 2 folds" in repr(ensemble)
    files = read_model_dir(run.run_dir)
    singles = [Predictor(type(files)(files.path, files.settings, files.classes, [state], files.info, [member]))
               for member, state in zip(files.members, files.states)]
    onset, apex = people[0].read_frame(0), people[0].read_frame(people[0].apex)
    mean = np.mean([list(p.predict_pair(onset, apex).probs.values()) for p in singles], axis=0)
    np.testing.assert_allclose(list(ensemble.predict_pair(onset, apex).probs.values()), mean, atol=1e-6)
    assert not np.allclose(*[list(p.predict_pair(onset, apex).probs.values()) for p in singles])  # two models


def test_spotting_a_clip_inside_a_longer_video(trained, people, tmp_path):
    """A synthetic clip filmed into a 640 x 480, 30 fps MP4 between still stretches of its face:
    the interval spotted holds the clip's apex (apex within 2 frames, interval IoU >= 0.5, MEGC's
    rule), nothing else is spotted, and its class is the one the model gives the clip's onset/apex pair."""
    from mezoo.data.synthetic import write_video

    model = mezoo.load_model(trained[2])
    sample = people[2]
    truth = write_video(tmp_path / "clip.mp4", [sample], hold=2.0)[0]
    video = model.predict_video(tmp_path / "clip.mp4")
    assert video.fps == 30 and video.first == 0 and video.last == 60 + len(sample) + 60 + 30 - 1
    assert not video.no_face
    assert len(video.intervals) == 1, [i.as_dict() for i in video.intervals]
    found = video.intervals[0]
    assert abs(found.apex - truth["apex"]) <= 2
    overlap = min(found.offset, truth["offset"]) - max(found.onset, truth["onset"]) + 1
    union = max(found.offset, truth["offset"]) - min(found.onset, truth["onset"]) + 1
    assert overlap / union >= 0.5
    assert found.apex_s == pytest.approx(found.apex / 30, abs=1e-3)
    pair = model.predict_pair(sample.read_frame(sample.onset), sample.read_frame(sample.apex))
    assert found.label == pair.label
    assert found.probs[pair.label] == pytest.approx(pair.probs[pair.label], abs=0.15)
    paths = video.write(tmp_path / "out")
    rows = paths["csv"].read_text().splitlines()
    assert rows[0].startswith("onset,apex,offset,onset_s") and len(rows) == 2
    assert json.loads(paths["json"].read_text())["intervals"][0]["apex"] == found.apex
    assert cv2.imread(str(paths["plot"])) is not None


def test_a_video_with_a_stretch_without_a_face_reports_it_and_goes_on(trained, people, tmp_path):
    model = mezoo.load_model(trained[2])
    path = tmp_path / "gap.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    face = people[0].read_frame(0)
    rng = np.random.default_rng(0)
    for i in range(90):
        frame = np.full((480, 640, 3), 100, np.uint8)
        if not 30 <= i < 60:  # the person leaves for a second
            frame[128:352, 208:432] = face
        noisy = np.clip(frame + rng.normal(0, 1.5, frame.shape), 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR))
    writer.release()
    video = model.predict_video(path, every=3)
    assert len(video.no_face) == 1
    first, last = video.no_face[0]
    assert 29 <= first <= 33 and 59 <= last <= 63
    assert video.intervals == []
    cut = model.predict_video(path, start=0.5, end=2.5, every=3)
    assert (cut.first, cut.last) == (15, 74)
    assert len(cut.no_face) == 1 and 29 <= cut.no_face[0][0] <= 33
    with pytest.raises(FaceError, match="no face found in .* from 1.00 s to 1.97 s"):
        model.predict_video(path, start=1.0, end=2.0, every=3)  # nothing but the empty stretch


@pytest.mark.parametrize("case, error, words", [
    ("missing", DataError, "does not exist"),
    ("text", DataError, "cannot be read as a video"),
    ("empty", DataError, "cannot be read as a video"),
    ("blank", FaceError, "no face found"),
    ("tiny", DataError, "at least 48 px"),
    ("start", DataError, "past the end"),
])
def test_bad_videos_get_one_clear_message(trained, tmp_path, case, error, words):
    model = mezoo.load_model(trained[2])
    path = tmp_path / "video.mp4"
    kwargs = {}
    if case == "text":
        path.write_text("not a video\n" * 100)
    elif case == "empty":
        path.write_bytes(b"")
    elif case in ("blank", "tiny", "start"):
        size = (32, 24) if case == "tiny" else (640, 480)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
        for _ in range(20):
            writer.write(np.full((size[1], size[0], 3), 90, np.uint8))
        writer.release()
        kwargs = {"start": 5.0} if case == "start" else {}
    with pytest.raises(error, match=words) as info:
        model.predict_video(path, **kwargs)
    assert str(path) in str(info.value)


def test_bad_images_and_clips_get_one_clear_message(trained, people, tmp_path):
    model = mezoo.load_model(trained[2])
    face = people[0].read_frame(0)
    blank = np.full((224, 224, 3), 128, np.uint8)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(FaceError, match="no face found in onset"):
        model.predict_pair(blank, face)
    with pytest.raises(DataError, match="broken.jpg cannot be decoded"):
        model.predict_pair(tmp_path / "broken.jpg", face)
    with pytest.raises(DataError, match="nothere.png does not exist"):
        model.predict_pair(tmp_path / "nothere.png", face)
    with pytest.raises(DataError, match="is 30 x 30 px; the face pipeline needs at least 48 px"):
        model.predict_pair(face[:30, :30], face[:30, :30])
    with pytest.raises(DataError, match="must share its size"):
        model.predict_pair(face, cv2.resize(face, (200, 200)))
    with pytest.raises(DataError, match=r"shape \(224, 224, 5\)"):
        model.predict_pair(np.zeros((224, 224, 5), np.uint8), face)
    with pytest.raises(DataError, match="at least two frames"):
        model.predict_clip([face])
    (tmp_path / "one").mkdir()
    cv2.imwrite(str(tmp_path / "one" / "img1.png"), face)
    with pytest.raises(DataError, match="holds 1 image file"):
        model.predict_clip(tmp_path / "one")
    with pytest.raises(DataError, match="outside the clip"):
        model.predict_clip([face, face, face], apex=3)


def test_model_directories_that_cannot_be_used_say_why(trained, tmp_path):
    import shutil

    path = tmp_path / "model"
    shutil.copytree(trained[2], path)
    with pytest.raises(ModelError, match="is not a mezoo model directory"):
        mezoo.load_model(tmp_path)
    with pytest.raises(ModelError, match="is not a folder"):
        mezoo.load_model(tmp_path / "nothing")
    info = json.loads((path / "model.json").read_text())
    newer = {**info, "format": 99, "mezoo": "9.0.0"}
    (path / "model.json").write_text(json.dumps(newer))
    with pytest.raises(ModelError, match="made by mezoo 9.0.0 in model format 99.*upgrade mezoo"):
        mezoo.load_model(path)
    foreign = {**info, "components": {**info["components"],
                                      "fusion": {"name": "fancy_head", "distribution": "mezoo-fancy", "version": "2.1"}}}
    (path / "model.json").write_text(json.dumps(foreign))
    with pytest.raises(ModelError, match=r"fusion 'fancy_head' \(from mezoo-fancy 2.1\).*pip install mezoo-fancy"):
        mezoo.load_model(path)
    (path / "model.json").write_text("{ truncated")
    with pytest.raises(ModelError, match="model.json is damaged"):
        mezoo.load_model(path)
    (path / "model.json").write_text(json.dumps(info))
    (path / "weights.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(ModelError, match="weights.safetensors .* are damaged"):
        mezoo.load_model(path)
    shutil.copy(trained[2] / "weights.safetensors", path / "weights.safetensors")
    (path / "config.yaml").write_text((path / "config.yaml").read_text().replace("embed_dim: 32", "embed_dim: 64"))
    with pytest.raises(ModelError, match="do not fit the model its settings build"):
        mezoo.load_model(path)
    (path / "config.yaml").write_text("train:\n  epochz: 3\n")
    with pytest.raises(ModelError, match="settings this mezoo .* does not take .*epochz"):
        mezoo.load_model(path)


def test_a_loso_run_without_checkpoints_is_refused_with_what_to_do(tmp_path):
    from mezoo.loso.runner import run_loso

    from tests.inference.conftest import small_settings

    settings = small_settings(tmp_path / "cache", dataset={"synthetic": {"subjects": 2, "clips_per_subject": 3}},
                              train={"epochs": 1}, run={"checkpoints": False})
    run = run_loso(settings, tmp_path / "run", progress=False)
    with pytest.raises(ModelError, match="no fold checkpoints.*run.checkpoints=true"):
        mezoo.load_model(run.run_dir)
