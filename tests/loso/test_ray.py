"""Folds as Ray tasks on a local Ray instance (2 CPUs): same predictions as in this process, a killed
worker retried, a fold whose worker always dies reported while the others are kept, `mezoo ablate
--executor ray`."""

import json
import os
import signal
import sys

import pytest
import ray
import torch
import yaml
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.loso import runner
from mezoo.engine.ray_executor import RayExecutor

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests


def _folds(run_dir):
    return {p.name: p.read_text() for p in sorted((run_dir / "folds").glob("*.json"))}


def _predictions(run_dir):
    import json

    return {name: {k: v for k, v in json.loads(text).items() if k in ("subject", "keys", "y_pred", "probs")}
            for name, text in _folds(run_dir).items()}


def test_ablate_on_ray_starts_and_stops_a_local_instance(tiny_config, tmp_path, monkeypatch):
    """Runs first in this module: no Ray instance is running, so the executor starts one and stops it,
    a new one even where the environment names a cluster (as RAY_ADDRESS or the record `ray start` leaves
    in /tmp/ray) that is gone: an empty run.ray.address means a local instance."""
    assert not ray.is_initialized()
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config(train={"epochs": 1}, run={"ray": {"local_cpus": 2}}).dump())
    out = tmp_path / "ablate"
    result = CliRunner().invoke(cli, ["ablate", "--executor", "ray", "--rows", "M0,M2", "--config", str(path),
                                      "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "M0: UF1" in result.output and "M2: UF1" in result.output
    assert "| M0 | -> OpticalFlow |" in result.output and "| M2 | -> DynamicImage |" in result.output
    for row in ("M0", "M2"):
        assert len(_folds(out / row)) == 3 and (out / row / "report.json").exists()
        assert yaml.safe_load((out / row / "config.yaml").read_text())["run"]["executor"] == "ray"
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with 2 CPUs for the rest of the module (the executor uses it as it is)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture
def one_thread():
    """The in-process reference on one torch thread, as a Ray task with run.ray.num_cpus 1 has:
    with the same threads the sums run in the same order, so the floats match bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class KillWorker:
    """A fold job that kills its worker process (SIGKILL, as the OOM killer does) on fold ``subject``:
    every time, or only the first time when ``marker`` is a path."""

    def __init__(self, job, subject, marker=None):
        self.job, self.subject, self.marker = job, subject, marker

    def __call__(self, context, task):
        if task.fold.subject == self.subject and (self.marker is None or not self.marker.exists()):
            if self.marker is not None:
                self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return self.job(context, task)


class Killing(RayExecutor):
    def __init__(self, settings, subject, marker=None):
        super().__init__(settings)
        self.subject, self.marker = subject, marker

    def map(self, job, context, tasks):
        return super().map(KillWorker(job, self.subject, self.marker), context, tasks)


def test_ray_writes_the_in_process_predictions_and_resumes_after_killed_workers(local_ray, one_thread,
                                                                             tiny_config, tmp_path):
    settings = tiny_config(train={"epochs": 1}, run={"checkpoints": True})
    local = runner.run_loso(settings, tmp_path / "local", progress=False)
    on_ray = tiny_config(train={"epochs": 1}, run={"checkpoints": True, "executor": "ray"})
    assert on_ray.fingerprint == settings.fingerprint  # where folds run is not part of the results

    # fold s01's worker dies every time: retried once, then reported; the other folds are saved
    with pytest.raises(runner.FoldsFailed, match=r"1 fold\(s\) failed: synthetic/s01 .*its worker died \(tried 2 time"):
        runner.run_loso(on_ray, tmp_path / "ray", progress=False, executor=Killing(on_ray, "synthetic/s01"))
    assert set(_folds(tmp_path / "ray")) == {"synthetic__s00.json", "synthetic__s02.json"}
    assert (tmp_path / "ray" / "failed" / "synthetic__s01.txt").exists()

    # run again: its worker dies once more, the retry trains it; the finished folds are not trained again
    marker = tmp_path / "killed-once"
    result = runner.run_loso(on_ray, tmp_path / "ray", progress=False,
                             executor=Killing(on_ray, "synthetic/s01", marker))
    assert marker.exists()
    assert result.trained == ["synthetic/s01"] and result.skipped == ["synthetic/s00", "synthetic/s02"]
    assert not (tmp_path / "ray" / "failed" / "synthetic__s01.txt").exists()

    assert _predictions(tmp_path / "ray") == _predictions(tmp_path / "local")
    assert result.report["full"] == local.report["full"]
    for name in ("synthetic__s00", "synthetic__s01", "synthetic__s02"):  # weights came back as bytes
        checkpoint = f"checkpoints/{name}.safetensors"
        assert (tmp_path / "ray" / checkpoint).read_bytes() == (tmp_path / "local" / checkpoint).read_bytes()


def test_a_fold_error_on_ray_is_reported_at_once_by_fold(local_ray, tiny_config, tmp_path):
    """mezoo's own errors are deterministic: not retried, each fold named with its message."""
    settings = tiny_config(train={"epochs": 1, "batch_size": 16, "lr": 1e6}, run={"executor": "ray"})
    with pytest.raises(runner.FoldsFailed, match=r"3 fold\(s\) failed: synthetic/s00 .*fold synthetic/s00: .*not "
                                                  r"finite.*lower train.lr"):
        runner.run_loso(settings, tmp_path, progress=False)
    assert not (tmp_path / "report.json").exists()


def test_ray_asks_for_what_the_cluster_has(local_ray, tiny_config, tmp_path):
    from mezoo.errors import ConfigError

    with pytest.raises(ConfigError, match=r"each fold task asks for 4 CPUs \(run.ray.num_cpus\), but the Ray cluster "
                                          r"has 2"):
        runner.run_loso(tiny_config(run={"executor": "ray", "ray": {"num_cpus": 4}}), tmp_path, progress=False)
    assert not (tmp_path / "folds").exists()


class Counting(RayExecutor):
    """Records the job and number of tasks of each map call."""

    def __init__(self, settings):
        super().__init__(settings)
        self.calls = []

    def map(self, job, context, tasks):
        tasks = list(tasks)
        self.calls.append((job.__name__, len(tasks)))
        return super().map(job, context, tasks)


def test_ray_spreads_the_inner_folds_of_model_selection(local_ray, one_thread, tiny_config, tmp_path):
    """--select on Ray: every inner training is a Ray task of its own (all folds' at once), and the
    choices and predictions are the in-process run's."""
    select = {"select": {"epochs": [1, 2]}, "inner_folds": 2}
    local = runner.run_loso(tiny_config(train={"epochs": 1}, protocol=select), tmp_path / "local", progress=False)
    on_ray = tiny_config(train={"epochs": 1}, protocol=select, run={"executor": "ray"})
    executor = Counting(on_ray)
    result = runner.run_loso(on_ray, tmp_path / "ray", progress=False, executor=executor)
    assert executor.calls == [("inner_job", 12), ("fold_job", 3)]
    assert result.report["selection"] == local.report["selection"]
    assert _predictions(tmp_path / "ray") == _predictions(tmp_path / "local")


def test_zoo_on_ray_predicts_as_in_this_process(local_ray, tiny_config, tmp_path):
    """Classical and deep models of the zoo on one Ray pool: the same predictions as in this process."""
    from mezoo.loso.zoo import run_zoo

    settings = tiny_config(train={"epochs": 1})
    here = run_zoo(settings, ["lbp_top", "off_apexnet"], tmp_path / "here", progress=False)
    there = run_zoo(settings.changed({"run": {"executor": "ray"}}), ["lbp_top", "off_apexnet"], tmp_path / "ray",
                    progress=False)
    for model in ("lbp_top", "off_apexnet"):
        assert _predictions(there[model].run_dir) == _predictions(here[model].run_dir)
        nodes = {json.loads(t)["node"]["id"] for t in _folds(there[model].run_dir).values()}
        assert nodes and None not in nodes
