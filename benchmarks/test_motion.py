"""How well, and how fast, the displacement providers measure the true motion of the synthetic
clips and of real faces (``photo_motion``'s held-out people; `mezoo motion-accuracy`): the
end-point errors go into the benchmark's ``extra_info``.

Targets: Farneback's and TV-L1's face EPE well under not moving at all on synthetic clips; the
shipped DGMs' under half of it; on real faces the ``faces`` DGM's face EPE below both Farneback's
and TV-L1's; one 224 x 224 pair of TV-L1 near 0.3 s or less on 2 CPU cores (the frozen DGM's
per-pair cost is timed beside it). Run: ``pytest benchmarks/test_motion.py --benchmark-only``.
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


def _field(provider):
    if provider == "farneback":
        return Farneback()
    if provider == "tvl1":
        return TVL1()
    return DGM(width=8, levels=3, scale=0.5, weights=provider.split("-")[1]).eval().displacement


@pytest.mark.parametrize("provider", ["farneback", "tvl1", "dgm-synthetic", "dgm-faces"])
def test_motion_accuracy(benchmark, clips, provider):
    onset, apex, truths, wheres, still = clips
    field = _field(provider)
    row = benchmark.pedantic(motion.evaluate, args=(provider, field, onset, apex, None, truths, wheres),
                             rounds=3, iterations=1)
    benchmark.group = "motion accuracy (16 synthetic samples, cpu)"
    benchmark.extra_info.update(epe_face=row.epe_face, epe_au=row.epe_au, angular=row.angular,
                                no_motion_epe_face=float(still))
    assert row.epe_face < 0.5 * still


@pytest.mark.parametrize("provider", ["farneback", "tvl1", "dgm-faces"])
def test_one_pair(benchmark, clips, provider):
    """One 224 x 224 onset/apex pair (what a fixed provider, or a frozen DGM, costs per clip before
    it is cached, and per interval in ``mezoo predict`` on a video)."""
    onset, apex = clips[0][:1].float() / 255, clips[1][:1].float() / 255
    field = _field(provider)
    benchmark.group = "one 224 x 224 pair, cpu"
    with torch.no_grad():
        out = benchmark(field, onset, apex)
    assert out.shape == (1, 2, 224, 224)
    if provider == "tvl1":
        assert benchmark.stats.stats.median <= 0.3


def test_real_face_accuracy(benchmark):
    """16 clips of ``photo_motion``'s held-out people (real faces the ``faces`` weights never saw):
    the ``faces`` DGM below Farneback and TV-L1."""
    from mezoo.data.photo_motion import PhotoMotionDataset

    samples = PhotoMotionDataset(people="held_out").samples()[:SAMPLES]
    onset = torch.stack([torch.from_numpy(s.source.frame(s.onset)).permute(2, 0, 1) for s in samples])
    apex = torch.stack([torch.from_numpy(s.source.frame(s.apex)).permute(2, 0, 1) for s in samples])
    truths = [true_motion(s) for s in samples]
    wheres = [motion.regions(s.source.landmarks(s.onset), 224) for s in samples]
    flows = {name: motion.evaluate(name, _field(name), onset, apex, None, truths, wheres).epe_face
             for name in ("farneback", "tvl1")}
    row = benchmark.pedantic(motion.evaluate, args=("dgm-faces", _field("dgm-faces"), onset, apex, None, truths,
                                                    wheres), rounds=3, iterations=1)
    benchmark.group = "motion accuracy (16 real-face samples, held-out people, cpu)"
    benchmark.extra_info.update(epe_face=row.epe_face, farneback_epe_face=flows["farneback"],
                                tvl1_epe_face=flows["tvl1"])
    assert row.epe_face < min(flows.values())
