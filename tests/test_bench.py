"""The benchmark cases behind `pytest benchmarks/` and `mezoo bench` run and measure what they say."""

import pytest
import torch
from click.testing import CliRunner

from mezoo import bench
from mezoo.cli import cli


def test_cases_cover_the_issue():
    names = {c.name for c in bench.CASES}
    for batch in (1, 32):
        assert {f"fusion-fu_b_attn-b{batch}", f"fusion-fu_a_attn-b{batch}", f"fusion-layer-before-b{batch}",
                f"fusion-layer-after-b{batch}", f"dgm-b{batch}"} <= names
    assert {"model-b32", "end-to-end", "train-head-b32", "train-fixed-b32", "train-dgm-b32"} <= names


def test_training_step_case_trains_the_head():
    case = next(c for c in bench.CASES if c.name == "train-fixed-b32")
    step = case.setup(torch.device("cpu"), "fp32")
    losses = [step() for _ in range(3)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]  # the same batch, three Adam steps


@pytest.mark.parametrize("name", ["fusion-fu_b_attn-b1", "fusion-fu_a_attn-b1", "fusion-layer-before-b1",
                                  "fusion-layer-after-b1", "dgm-b1"])
def test_small_cases_run(name):
    case = next(c for c in bench.CASES if c.name == name)
    out = case.setup(torch.device("cpu"), "fp32")()
    assert torch.isfinite(out).all()
    expected = {"fusion": (1, 3), "fusion-layer": (9, 1, 256), "dgm": (1, 2, 224, 224)}
    assert tuple(out.shape) == expected["fusion-layer" if "layer" in name else name.split("-")[0]]


def test_end_to_end_case_classifies_two_image_files():
    pytest.importorskip("skimage")
    case = next(c for c in bench.CASES if c.name == "end-to-end")
    assert case.setup(torch.device("cpu"), "fp32")() in (0, 1, 2)


def test_variants_only_where_they_run():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert bench.supports(cpu, "fp32") and not bench.supports(cpu, "bf16") and not bench.supports(cpu, "compile")
    assert bench.supports(cuda, "bf16") and bench.supports(cuda, "compile")


def test_ratio_is_fu_b_over_fu_a():
    t = [bench.Timing("fusion-fu_b_attn-b32", "g", "cpu", "fp32", 45.0, 1.0, 5),
         bench.Timing("fusion-fu_a_attn-b32", "g", "cpu", "fp32", 50.0, 1.0, 5),
         bench.Timing("fusion-fu_b_attn-b1", "g", "cpu", "fp32", 3.0, 1.0, 5)]
    assert bench.ratios(t) == [("b32", "cpu", "fp32", 0.9)]


def test_measure_warms_up_then_times():
    calls = []
    times = bench.measure(lambda: calls.append(1), min_time=0.0, warmup=2)
    assert len(times) == 5 and len(calls) == 7


def test_bench_command(tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(cli, ["bench", "--cases", "fusion-*-b1", "--device", "cpu", "--min-time", "0",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "| fusion-fu_b_attn-b1 | cpu | fp32 |" in result.output
    assert "Fu-B / Fu-A whole fusion, b1, cpu fp32:" in result.output
    assert '"case": "fusion-layer-after-b1"' in out.read_text()
    bad = CliRunner().invoke(cli, ["bench", "--variants", "fp16"])
    assert bad.exit_code != 0 and "unknown variant fp16" in bad.output


def test_measure_together_alternates():
    order = []
    times = bench.measure_together([lambda: order.append("a"), lambda: order.append("b")], min_time=0.0, warmup=1)
    assert [len(t) for t in times] == [5, 5]
    assert order[:2] == ["a", "b"] and order[2:] == ["a", "b"] * 5
