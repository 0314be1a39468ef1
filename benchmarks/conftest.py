"""pytest-benchmark over mezoo's benchmark cases (``mezoo/bench.py``), on CPU and, when torch
sees one, on CUDA; ``bf16`` and ``compile`` variants run on CUDA only.

    pytest benchmarks/ --benchmark-only                    # every case
    pytest benchmarks/ --benchmark-only -k "fusion and b32" --benchmark-group-by=group
"""

from __future__ import annotations

import pytest
import torch

from mezoo import bench

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                  reason="no CUDA device"))]
VARIANTS = ["fp32", "bf16", "compile"]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


@pytest.fixture(params=VARIANTS)
def variant(request, device) -> str:
    if not bench.supports(device, request.param):
        pytest.skip(f"{request.param} runs on CUDA only (see mezoo/bench.py)")
    return request.param


def run_case(benchmark, name: str, device: torch.device, variant: str) -> None:
    case = next(c for c in bench.CASES if c.name == name)
    fn = case.setup(device, variant)
    benchmark.group = f"{case.group} {device.type} {variant}"
    benchmark.extra_info.update(batch=case.batch, device=str(device), variant=variant,
                                torch=torch.__version__,
                                gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else None)
    rounds = 5 if case.batch > 1 and device.type == "cpu" else 20
    benchmark.pedantic(fn, warmup_rounds=3 if variant != "compile" else 5, rounds=rounds, iterations=1)
