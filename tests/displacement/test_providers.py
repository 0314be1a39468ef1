"""Every registered displacement provider: shape, finite values, and a LOSO run through it."""

import pytest
import torch

from mezoo import plugins
from mezoo.loso.runner import run_loso


@pytest.mark.parametrize("name", plugins.names("displacement"))
def test_every_provider_forward(name):
    provider = plugins.make("displacement", name)
    onset = torch.rand(2, 3, 64, 64)
    apex = onset.roll(1, dims=-1)
    out = provider(onset, apex)
    assert out.shape == (2, provider.out_channels(3), 64, 64)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["dgm", "farneback", "tvl1", "of_norm", "dynamic_image"])
def test_loso_runs_with_each_builtin_provider(name, tiny_config, tmp_path):
    cfg = tiny_config(displacement={"name": name, "dgm": {"width": 4, "warmup_steps": 2, "pairs_per_clip": 1,
                                                          "pair_batch_size": 4}})
    report = run_loso(cfg, tmp_path, progress=False).report
    assert report["full"]["n"] == 18
    assert 0.0 <= report["full"]["uf1"] <= 1.0
