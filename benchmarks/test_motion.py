"""How well, and how fast, the displacement providers measure the synthetic clips' true motion
(`mezoo motion-accuracy`): the end-point errors go into the benchmark's ``extra_info``.

Targets (issue 13): Farneback's face EPE well under not moving at all; the shipped DGM's under
half of it. Run: ``pytest benchmarks/test_motion.py --benchmark-only``.
"""

import numpy as np
import pytest
import torch

from mezoo import motion
from mezoo.data.synthetic import SyntheticDataset, true_motion
from mezoo.displacement import DGM
from mezoo.displacement.farneback import Farneback

SAMPLES = 16


@pytest.fixture(scope="module")
def clips():
    samples = SyntheticDataset().samples()[:SAMPLES]
    onset = torch.stack([torch.from_numpy(s.read_frame(s.onset)).permute(2, 0, 1) for s in samples])
    apex = torch.stack([torch.from_numpy(s.read_frame(s.apex)).permute(2, 0, 1) for s in samples])
    truths = [true_motion(s) for s in samples]
    wheres = [motion.regions(s.source.landmarks(s.onset), 224) for s in samples]
    still = np.mean([motion.flow_errors(np.zeros_like(t), t, w)["epe_face"] for t, w in zip(truths, wheres)])
    return onset, apex, truths, wheres, still


@pytest.mark.parametrize("provider", ["farneback", "dgm-synthetic"])
def test_motion_accuracy(benchmark, clips, provider):
    onset, apex, truths, wheres, still = clips
    if provider == "farneback":
        field = Farneback()
    else:
        field = DGM(width=8, levels=3, scale=0.5, weights="synthetic").eval().displacement
    row = benchmark.pedantic(motion.evaluate, args=(provider, field, onset, apex, None, truths, wheres),
                             rounds=3, iterations=1)
    benchmark.group = "motion accuracy (16 synthetic samples, cpu)"
    benchmark.extra_info.update(epe_face=row.epe_face, epe_au=row.epe_au, angular=row.angular,
                                no_motion_epe_face=float(still))
    assert row.epe_face < 0.5 * still
