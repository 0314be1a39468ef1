"""The embedded synthetic dataset: deterministic, known landmarks, subtle class-specific motion."""

import numpy as np
import pytest

from mezoo.data.synthetic import CLASSES, SyntheticDataset


@pytest.fixture(scope="module")
def samples():
    return SyntheticDataset(subjects=8, clips_per_subject=12, size=224).samples()


def test_counts_subjects_and_classes(samples):
    assert len(samples) == 96
    assert len({s.subject for s in samples}) == 8
    assert {s.label for s in samples} == set(CLASSES)
    for subject in {s.subject for s in samples}:
        labels = [s.label for s in samples if s.subject == subject]
        assert all(labels.count(c) == 4 for c in CLASSES)


def test_same_seed_same_frames_other_seed_other_frames():
    a = SyntheticDataset(subjects=2, clips_per_subject=3, size=96, seed=5).samples()
    b = SyntheticDataset(subjects=2, clips_per_subject=3, size=96, seed=5).samples()
    c = SyntheticDataset(subjects=2, clips_per_subject=3, size=96, seed=6).samples()
    assert [s.label for s in a] == [s.label for s in b]
    assert np.array_equal(a[1].read_frame(a[1].apex), b[1].read_frame(b[1].apex))
    assert not np.array_equal(a[1].read_frame(0), c[1].read_frame(0))


def test_frames_and_landmarks(samples):
    s = samples[0]
    frame = s.read_frame(s.apex)
    assert frame.shape == (224, 224, 3) and frame.dtype == np.uint8
    assert s.known_landmarks(0).shape == (68, 2)
    assert 0 == s.onset < s.apex < s.offset == len(s) - 1


def _motion(sample, idx):
    return np.linalg.norm(sample.known_landmarks(sample.apex)[idx] - sample.known_landmarks(0)[idx], axis=1)


def test_motion_is_subtle_and_on_the_class_aus():
    # Without distractors, the only motion is the expression: 1-3 px times the subject's strength (0.7-1.3).
    samples = SyntheticDataset(subjects=4, clips_per_subject=6, size=224, distractors=False).samples()
    brows, mouth_corners = list(range(17, 27)), [48, 54]
    for s in samples:
        peak = max(_motion(s, brows).max(), _motion(s, mouth_corners).max())
        assert 0.5 < peak < 4.0, (s.key, peak)
        if s.label == "surprise":
            lm0, lm1 = s.known_landmarks(0), s.known_landmarks(s.apex)
            assert (lm1[brows, 1] - lm0[brows, 1]).mean() < -0.5  # brows rise
            assert _motion(s, mouth_corners).max() < 0.3
        if s.label == "positive":
            lm0, lm1 = s.known_landmarks(0), s.known_landmarks(s.apex)
            assert min(lm1[[48, 54], 1] - lm0[[48, 54], 1]) < -0.3  # a lip corner rises
            assert _motion(s, brows).max() < 0.3


def test_apex_differs_from_onset_more_than_offset_noise():
    s = SyntheticDataset(subjects=2, clips_per_subject=3, size=128, distractors=False).samples()[0]
    onset, apex = s.read_frame(0).astype(float), s.read_frame(s.apex).astype(float)
    assert np.abs(apex - onset).mean() > 0.1
    assert np.abs(s.read_frame(0).astype(float) - onset).max() == 0


def test_true_motion_is_the_landmark_motion_it_was_drawn_from():
    import cv2

    from mezoo.data.synthetic import true_motion

    errors, moved = [], []
    for sample in SyntheticDataset(subjects=2, clips_per_subject=6).samples():
        flow = true_motion(sample)
        assert flow.shape == (2, 224, 224) and flow.dtype == np.float32
        before, after = sample.source.landmarks(sample.onset), sample.source.landmarks(sample.apex)
        inside = ((before >= 1) & (before <= 222)).all(1)  # a wide face's jaw may leave the frame
        before, after = before[inside], after[inside]
        x, y = (before[:, i].astype(np.float32)[None] for i in (0, 1))
        at = np.stack([cv2.remap(flow[c], x, y, cv2.INTER_LINEAR)[0] for c in (0, 1)], 1)
        errors.append(np.linalg.norm(at - (after - before), axis=1))
        moved.append(np.linalg.norm(after - before, axis=1).max())
    errors = np.concatenate(errors)
    # the landmarks are drawn with the exact field, the frames with one interpolated from a 2x coarser
    # grid: they agree to a tenth of a pixel on motions of 1-3 px
    assert min(moved) > 0.5 and np.median(errors) < 0.05
    assert np.quantile(errors, 0.99) < 0.15 and errors.max() < 0.3


def test_true_motion_on_a_resized_canvas_and_of_identical_frames():
    from mezoo.data.synthetic import true_motion

    sample = SyntheticDataset(subjects=2, clips_per_subject=3, size=112).samples()[0]
    full = true_motion(sample)
    twice = true_motion(sample, size=224)
    assert twice.shape == (2, 224, 224)
    assert np.abs(twice.mean((1, 2)) - 2 * full.mean((1, 2))).max() < 0.02  # pixels scale with the canvas
    assert np.abs(true_motion(sample, first=3, second=3)).max() < 1e-4


def test_true_motion_only_for_synthetic_samples():
    from mezoo.data.sample import Sample
    from mezoo.data.synthetic import true_motion

    other = Sample(dataset="casme2", subject="01", episode="EP01", onset=0, apex=1, offset=2, emotion="happiness",
                   label="positive", source=None)
    with pytest.raises(ValueError, match="only samples of synthetic and photo_motion know their true motion"):
        true_motion(other)
