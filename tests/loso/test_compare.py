"""mezoo compare: two real (tiny) LOSO runs on the same samples, compared; runs that do not pair refused."""

import json
import shutil

import pytest
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.errors import DataError, StorageError
from mezoo.loso.compare import compare_runs, read_run
from mezoo.loso.runner import run_loso
from tests.conftest import tiny_settings


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cache = {"cache_dir": str(root / "cache")}  # (module-scoped: before the per-test cache fixture)
    a = run_loso(tiny_settings(train={"epochs": 1}, run=cache), root / "a", progress=False)
    b = run_loso(tiny_settings(train={"epochs": 2}, run=cache), root / "b", progress=False)
    return a, b


def test_a_run_carries_intervals_per_subject_scores_and_its_protocol(two_runs):
    a, _ = two_runs
    report = json.loads((a.run_dir / "report.json").read_text())
    assert report["run"]["protocol"] == "loso"
    low, high = report["full"]["interval"]["uf1"]
    assert low <= report["full"]["uf1"] <= high and report["full"]["interval"]["subjects"] == 3
    assert sorted(report["subjects"]) == ["synthetic/s00", "synthetic/s01", "synthetic/s02"]
    assert (a.run_dir / "subjects.png").stat().st_size > 0
    assert "95% intervals (bootstrap over subjects" in (a.run_dir / "report.md").read_text()


def test_compare_two_runs(two_runs, tmp_path):
    a, b = two_runs
    rows = compare_runs([a.run_dir, b.run_dir], resamples=200)
    assert len(rows) == 1 and rows[0]["part"] == "full" and rows[0]["subjects"] == 3
    assert rows[0]["uf1"]["first"] == pytest.approx(a.report["full"]["uf1"], abs=1e-4)
    assert rows[0]["uf1"]["second"] == pytest.approx(b.report["full"]["uf1"], abs=1e-4)
    assert rows[0]["uf1"]["difference"] == pytest.approx(b.report["full"]["uf1"] - a.report["full"]["uf1"], abs=2e-4)
    result = CliRunner().invoke(cli, ["compare", str(a.run_dir), str(b.run_dir), "--resamples", "200",
                                      "--out", str(tmp_path / "forest.png")])
    assert result.exit_code == 0, result.output
    assert "| first | second | part |" in result.output and (tmp_path / "forest.png").stat().st_size > 0


def test_runs_that_do_not_pair_are_refused_in_one_line(two_runs, tmp_path):
    a, _ = two_runs
    other = tmp_path / "other"
    shutil.copytree(a.run_dir, other)
    lines = (other / "predictions.csv").read_text().splitlines()
    (other / "predictions.csv").write_text("\n".join(lines[:-1]) + "\n")  # one sample fewer
    with pytest.raises(DataError, match="predicted different samples"):
        compare_runs([a.run_dir, other])
    result = CliRunner().invoke(cli, ["compare", str(a.run_dir), str(tmp_path)])
    assert result.exit_code == 1 and "is not a finished mezoo run" in result.output
    assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(StorageError):
        read_run(tmp_path)
    result = CliRunner().invoke(cli, ["compare", str(a.run_dir)])
    assert result.exit_code == 2 and "at least two" in result.output
