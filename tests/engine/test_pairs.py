"""Self-supervision pairs: drawn within clips, never from the fold's test subject."""

import numpy as np
import torch

from mezoo.data.synthetic import SyntheticDataset
from mezoo.loso.folds import loso_folds
from mezoo.engine.frames import read_pairs
from mezoo.engine.fit import PairSampler


def test_pairs_never_come_from_the_test_subject():
    samples = SyntheticDataset(subjects=3, clips_per_subject=2, frames=6, size=32).samples()
    pairs = read_pairs(samples, per_clip=3, size=32, progress=False)
    assert len(pairs.groups) == 18 and pairs.first.shape == (18, 3, 32, 32)
    groups = np.array([s.group for s in samples])
    for fold in loso_folds(groups):
        sampler = PairSampler(pairs, groups[fold.train], batch_size=64, device=torch.device("cpu"))
        assert fold.subject not in set(pairs.groups[sampler.rows])
        assert len(sampler.rows) == 12
        first, second, mask = sampler.sample(torch.Generator().manual_seed(0))
        assert first.shape == (64, 3, 32, 32) and first.max() <= 1.0
        assert mask.shape == (64, 1, 32, 32) and (mask == 1).all()  # synthetic frames are whole
        # Every sampled pair is one of the training subjects' pairs.
        test_rows = np.flatnonzero(pairs.groups == fold.subject)
        test_frames = pairs.first[test_rows].float().div(255)
        for f in first:
            assert not any(torch.equal(f, t) for t in test_frames)


def test_pairs_are_distinct_frames_of_one_clip():
    samples = SyntheticDataset(subjects=2, clips_per_subject=1, frames=5, size=32, distractors=False).samples()
    pairs = read_pairs(samples, per_clip=4, size=32, progress=False)
    for first, second in zip(pairs.first, pairs.second):
        assert not torch.equal(first, second)
