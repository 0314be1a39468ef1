"""mezoo run --seeds: each seed a resumable run of its own, one report over them, the frames read once."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.engine import inputs
from mezoo.errors import ConfigError, DataError
from mezoo.loso.ablate import run_ablation
from mezoo.loso.compare import compare_runs
from mezoo.loso.runner import run_loso
from mezoo.loso.seeds import parse_seeds, run_seeds
from tests.conftest import tiny_settings


def test_seed_lists():
    assert parse_seeds("0,1, 2") == [0, 1, 2] and parse_seeds("7") == [7]
    for bad in ("0,x", "", "1.5", "0,0"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)


def test_a_bad_seed_list_is_one_line_before_any_frame(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "read_frames", lambda *a, **k: pytest.fail("the data was read"))
    result = CliRunner().invoke(cli, ["run", "--seeds", "0,one", "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and result.output.startswith("Error: --seeds takes integers")
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    cache = {"cache_dir": str(root / "cache")}  # (module-scoped: before the per-test cache fixture)
    calls = []
    real = inputs.read_frames

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    inputs.read_frames = counting
    try:
        result = run_seeds(tiny_settings(train={"epochs": 1}, run=cache), [0, 1], root / "run", progress=False)
    finally:
        inputs.read_frames = real
    return root, cache, result, len(calls)


def test_each_seed_is_a_run_and_the_report_is_over_them(seeded):
    root, _, result, reads = seeded
    assert reads == 1  # both seeds trained on the frames read once
    report = json.loads((root / "run" / "report.json").read_text())
    assert report == result.report and list(report["seeds"]) == ["0", "1"] and report["run"]["seeds"] == [0, 1]
    per_seed = [json.loads((root / "run" / f"seed-{s}" / "report.json").read_text()) for s in (0, 1)]
    uf1 = [r["full"]["uf1"] for r in per_seed]
    assert report["full"]["uf1"] == pytest.approx(np.mean(uf1), abs=1e-4)
    assert report["full"]["uf1_sd"] == pytest.approx(np.std(uf1, ddof=1), abs=1e-4)
    assert report["full"]["interval"]["subjects"] == 3 and report["full"]["interval"]["pooled_seeds"] == 2
    assert per_seed[0]["run"]["fingerprint"] != per_seed[1]["run"]["fingerprint"]  # the seed is in the settings
    text = (root / "run" / "report.md").read_text()
    assert "seed 0 |" in text and "mean +- sd over 2 seeds" in text and "pooled" in text
    assert len(result.trained) == 6
    from mezoo.inference.modeldir import ModelError, read_model_dir

    with pytest.raises(ModelError, match="several seeds.*seed-0"):
        read_model_dir(root / "run")


def test_seeds_resume_and_compare(seeded):
    root, cache, _, _ = seeded
    again = run_seeds(tiny_settings(train={"epochs": 1}, run=cache), [0, 1], root / "run", progress=False)
    assert again.trained == [] and len(again.skipped) == 6
    other = run_seeds(tiny_settings(train={"epochs": 2}, run=cache), [0, 1], root / "other", progress=False)
    rows = compare_runs([root / "run", other.run_dir], resamples=200)
    assert rows[0]["uf1"]["first"] == pytest.approx(json.loads((root / "run" / "report.json").read_text())
                                                    ["full"]["uf1"], abs=0.05)
    single = run_loso(tiny_settings(train={"epochs": 1}, run=cache), root / "single", progress=False)
    with pytest.raises(DataError, match="seeds"):
        compare_runs([root / "run", single.run_dir])


def test_ablation_rows_over_seeds(tmp_path):
    cache = {"cache_dir": str(tmp_path / "cache")}
    results = run_ablation(tiny_settings(train={"epochs": 1}, run=cache), ["M0"], tmp_path / "ablate",
                           progress=False, seeds=[0, 1])
    assert (tmp_path / "ablate" / "M0" / "seed-1" / "report.json").is_file()
    assert results["M0"].report["full"]["uf1_sd"] >= 0
    full = results["M0"].report["full"]
    low, high = full["interval"]["uf1"]
    assert f"| {full['uf1']:.3f} +- {full['uf1_sd']:.3f} [{low:.3f}, {high:.3f}] |" in (
        tmp_path / "ablate" / "ablation.md").read_text()  # mean +- sd over seeds [subject-bootstrap interval]
    rows = []  # run again, every seed finished: each row reported once
    run_ablation(tiny_settings(train={"epochs": 1}, run=cache), ["M0"], tmp_path / "ablate", progress=False,
                 seeds=[0, 1], on_row=lambda row, result: rows.append(row))
    assert rows == ["M0"]
