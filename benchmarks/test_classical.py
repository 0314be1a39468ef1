"""How fast the classical baselines' features are: one sample's LBP-TOP (a clip of 10 frames) and
Bi-WOOF (an onset -> apex flow), on 224 x 224 faces, the default face size.

Targets: each under 0.5 s a sample on 2 CPU cores, so the features of CASME II's 255 clips take
about two minutes or less once (they are cached per sample after that).
Run: ``pytest benchmarks/test_classical.py --benchmark-only``.
"""

import numpy as np
import pytest

from mezoo import plugins

SIZE = 224


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(10, SIZE, SIZE)).astype(np.float32) / 255


@pytest.mark.parametrize("name", ["lbp_top", "bi_woof"])
def test_features_per_sample(benchmark, clip, name):
    extractor = plugins.make("features", name)
    flow = np.random.default_rng(1).normal(0, 1, size=(2, SIZE, SIZE)).astype(np.float32)
    frames, displacement = (clip, None) if name == "lbp_top" else (clip[:2], flow)
    features = benchmark(extractor.extract, frames, displacement, np.ones((SIZE, SIZE), bool))
    assert features.shape == (extractor.size,) and np.isfinite(features).all()
    benchmark.extra_info["features"] = int(features.size)
    assert benchmark.stats.stats.median < 0.5
