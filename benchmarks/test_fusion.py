"""Fusion latency: the whole Transformer fusion (Fu-B-Attn vs Fu-A-Attn) and the fusion layer alone.

Paper: 47.6 ms (Fu-B-Attn) vs 50.8 ms (Fu-A-Attn) "to run all fusions" on an RTX 3080 Ti.
Target: Fu-B / Fu-A <= 0.90 at batch 32 on CPU and on CUDA; ``mezoo bench`` prints it.
"""

import pytest

from benchmarks.conftest import run_case


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("head", ["fu_b_attn", "fu_a_attn"])
def test_fusion(benchmark, head, batch, device, variant):
    run_case(benchmark, f"fusion-{head}-b{batch}", device, variant)


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("kind", ["before", "after"])
def test_fusion_layer(benchmark, kind, batch, device, variant):
    run_case(benchmark, f"fusion-layer-{kind}-b{batch}", device, variant)
