"""Reading samples into tensors, with the neighbours of the apex for apex jitter."""

import numpy as np
import torch

from mezoo.data import Sample
from mezoo.data.synthetic import CLASSES, SyntheticDataset
from mezoo.data.sample import near_apex
from mezoo.engine.frames import read_face, read_frames, to_chw


def test_near_apex_stays_inside_the_clip():
    s = Sample("d", "s", "e", onset=2, apex=3, offset=9, emotion="x", label="x",
               frames=tuple(f"f{i}" for i in range(10)))
    assert near_apex(s, 1) == [3, 4]  # apex - 1 = 2 is the onset: kept one after it
    assert near_apex(s, 2) == [3, 3, 4, 5]
    end = Sample("d", "s", "e", onset=0, apex=9, offset=9, emotion="x", label="x",
                 frames=tuple(f"f{i}" for i in range(10)))
    assert near_apex(end, 1) == [8, 9]


def test_apex_choices_and_views():
    samples = SyntheticDataset(subjects=2, clips_per_subject=2, size=48).samples()
    data = read_frames(samples, CLASSES, size=48, progress=False, apex_jitter=1)
    assert data.apex_choices == 3 and data.near.shape == (4, 2, 3, 48, 48)
    rows = torch.arange(4)
    _, apex, _ = data.frames(rows, "cpu", torch.zeros(4, dtype=torch.long))
    assert torch.equal(apex, data.apex.float() / 255)
    _, before, _ = data.frames(rows, "cpu", torch.ones(4, dtype=torch.long))
    s = samples[0]
    expected = to_chw(read_face(s, s.apex - 1, 48)[0], True)
    assert np.array_equal((before[0] * 255).round().byte().numpy(), expected)
    view = data.view(2)
    assert [v.apex for v in view.samples] == [s.apex + 1 for s in samples]
    assert torch.equal(view.apex, data.near[:, 1]) and view.apex_choices == 1
    assert data.view(0) is data
