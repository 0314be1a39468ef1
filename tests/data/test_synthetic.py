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
