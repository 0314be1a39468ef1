"""How well, and how fast, the displacement providers measure the synthetic clips' true motion
(`mezoo motion-accuracy`): the end-point errors go into the benchmark's ``extra_info``.

Targets: Farneback's and TV-L1's face EPE well under not moving at all; the shipped DGM's under
half of it; one 224 x 224 pair of TV-L1 near 0.3 s or less on 2 CPU cores. Run:
``pytest benchmarks/test_motion.py --benchmark-only``.
"""

import numpy as np
import pytest
import torch

from mezoo import motion
from mezoo.data.synthetic import SyntheticDataset, true_motion
from mezoo.displacement import DGM
from mezoo.displacement.farneback import Farneback
from mezoo.displacement.tvl1 import TVL1

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


@pytest.mark.parametrize("provider", ["farneback", "tvl1", "dgm-synthetic"])
def test_motion_accuracy(benchmark, clips, provider):
    onset, apex, truths, wheres, still = clips
    if provider == "farneback":
        field = Farneback()
    elif provider == "tvl1":
        field = TVL1()
    else:
        field = DGM(width=8, levels=3, scale=0.5, weights="synthetic").eval().displacement
    row = benchmark.pedantic(motion.evaluate, args=(provider, field, onset, apex, None, truths, wheres),
                             rounds=3, iterations=1)
    benchmark.group = "motion accuracy (16 synthetic samples, cpu)"
    benchmark.extra_info.update(epe_face=row.epe_face, epe_au=row.epe_au, angular=row.angular,
                                no_motion_epe_face=float(still))
    assert row.epe_face < 0.5 * still


@pytest.mark.parametrize("provider", ["farneback", "tvl1"])
def test_one_pair(benchmark, clips, provider):
    """One 224 x 224 onset/apex pair (what a fixed provider costs per clip before it is cached, and
    per interval in ``mezoo predict`` on a video)."""
    onset, apex = clips[0][:1].float() / 255, clips[1][:1].float() / 255
    field = Farneback() if provider == "farneback" else TVL1()
    benchmark.group = "one 224 x 224 pair, cpu"
    out = benchmark(field, onset, apex)
    assert out.shape == (1, 2, 224, 224)
    if provider == "tvl1":
        assert benchmark.stats.stats.median <= 0.3
