"""The DGM forward, the full model forward (DGM + Fu-B-Attn) and end to end from image files.

Targets: full model at batch 32 <= 5 ms on an H100-class GPU; end to end <= 100 ms
median per onset/apex pair on 2 CPU cores, frames <= 640 px.
"""

import pytest

from benchmarks.conftest import run_case


@pytest.mark.parametrize("batch", [1, 32])
def test_dgm(benchmark, batch, device, variant):
    run_case(benchmark, f"dgm-b{batch}", device, variant)


def test_model_batch32(benchmark, device, variant):
    run_case(benchmark, "model-b32", device, variant)


def test_end_to_end(benchmark, device, variant):
    pytest.importorskip("skimage")
    run_case(benchmark, "end-to-end", device, variant)
