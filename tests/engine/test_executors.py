"""The executor seam: third-party executors by name, failed folds reported by fold, one pool for an ablation."""

import json

import pytest

from mezoo import hookimpl
from mezoo.errors import ConfigError, UnknownComponentError
from mezoo.loso import runner
from mezoo.loso.ablate import run_ablation
from mezoo.engine.executors import Executor, LocalExecutor, Outcome
from tests.conftest import registered

SUBJECTS = ["synthetic/s00", "synthetic/s01", "synthetic/s02"]


def _predictions(run_dir):
    return {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k in ("keys", "y_pred", "probs")}
            for p in sorted((run_dir / "folds").glob("*.json"))}


class Reversed(LocalExecutor):
    """A third-party executor: folds last first, each task it was handed recorded."""

    handed: list[str] = []

    def map(self, job, context, tasks):
        tasks = list(tasks)[::-1]
        Reversed.handed += [t.fold.subject for t in tasks]
        return super().map(job, context, tasks)


class ExecutorPlugin:
    @hookimpl
    def register_executors(self, register):
        register(Reversed, name="reversed-order")


def test_a_third_party_executor_is_used_by_name(tiny_config, tmp_path):
    local = runner.run_loso(tiny_config(train={"epochs": 1}), tmp_path / "local", progress=False)
    Reversed.handed = []
    with registered(ExecutorPlugin(), "reversing"):
        settings = tiny_config(train={"epochs": 1}, run={"executor": "Reversed-Order"})
        result = runner.run_loso(settings, tmp_path / "reversed", progress=False)
    assert Reversed.handed == SUBJECTS[::-1]
    assert result.trained == SUBJECTS[::-1]
    # each fold is seeded by its subject: the order folds run in changes nothing
    assert _predictions(tmp_path / "reversed") == _predictions(tmp_path / "local")
    assert result.report["full"] == local.report["full"]


def test_an_unknown_executor_is_named_before_any_work(tiny_config):
    with pytest.raises(UnknownComponentError, match=r"executor 'slurm'.*local, ray"):
        tiny_config(run={"executor": "slurm"})


def test_ray_not_installed_is_one_line(tiny_config, monkeypatch):
    from mezoo.engine import ray_executor

    monkeypatch.setattr(ray_executor.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r'needs Ray, which is not installed here: pip install "mezoo\[ray\]"'):
        runner.run_loso(tiny_config(run={"executor": "ray"}), progress=False)


class FailsOne(Executor):
    """Reports fold s01 as failed (as Ray does after its retry), runs the others."""

    def map(self, job, context, tasks):
        for task in tasks:
            if task.fold.subject == "synthetic/s01":
                yield Outcome(task, error="WorkerCrashedError: its worker died 2 time(s)", details="the traceback")
            else:
                yield Outcome(task, job(context, task))


def test_a_failed_fold_is_reported_by_fold_and_the_others_are_kept(tiny_config, tmp_path):
    settings = tiny_config(train={"epochs": 1})
    with pytest.raises(runner.FoldsFailed) as error:
        runner.run_loso(settings, tmp_path, progress=False, executor=FailsOne(settings))
    message = str(error.value)
    assert "1 fold(s) failed: synthetic/s01" in message and "its worker died 2 time(s)" in message
    assert "The 2 finished fold(s) are saved: run the same command again" in message and "\n" not in message
    assert (tmp_path / "failed" / "synthetic__s01.txt").read_text() == "the traceback"
    assert sorted(p.name for p in (tmp_path / "folds").glob("*.json")) == ["synthetic__s00.json", "synthetic__s02.json"]
    assert not (tmp_path / "report.json").exists()
    again = runner.run_loso(settings, tmp_path, progress=False)
    assert again.trained == ["synthetic/s01"] and again.skipped == ["synthetic/s00", "synthetic/s02"]
    assert not (tmp_path / "failed" / "synthetic__s01.txt").exists()


class Counting(LocalExecutor):
    calls: list[list[str]] = []

    def map(self, job, context, tasks):
        tasks = list(tasks)
        Counting.calls.append([f"{t.run}:{t.fold.subject}" for t in tasks])
        return super().map(job, context, tasks)


def test_an_ablation_sends_every_rows_folds_to_one_executor(tiny_config, tmp_path):
    settings = tiny_config(train={"epochs": 1})
    Counting.calls = []
    seen = []
    results = run_ablation(settings, ["M0", "M2"], tmp_path, progress=False, executor=Counting(settings),
                           on_row=lambda row, result: seen.append(row))
    assert len(Counting.calls) == 1 and len(Counting.calls[0]) == 6  # one map: 2 rows x 3 folds
    assert seen == ["M0", "M2"] and set(results) == {"M0", "M2"}
    assert (tmp_path / "M2" / "report.json").exists() and (tmp_path / "ablation.md").exists()
    # run again: every fold is finished, nothing is handed out, the table is written again
    Counting.calls = []
    again = run_ablation(settings, ["M0", "M2"], tmp_path, progress=False, executor=Counting(settings))
    assert Counting.calls == [] and again["M2"].report == results["M2"].report


def test_a_fold_context_ships_its_frames_as_buffers(tiny_config, tmp_path):
    """Pickled with protocol 5 (as Ray's object store does), the frames and model inputs leave the
    pickle stream as raw buffers (a worker on the same machine maps them without a copy)."""
    import pickle

    import torch

    loso = runner.start_run(tiny_config(train={"epochs": 1}), tmp_path, progress=False)
    buffers = []
    blob = pickle.dumps(loso.context, protocol=5, buffer_callback=buffers.append)
    frames = loso.context.data.onset.numel() + loso.context.data.apex.numel()
    assert sum(b.raw().nbytes for b in buffers) > frames and len(blob) < frames / 20
    back = pickle.loads(blob, buffers=buffers)
    assert torch.equal(back.data.apex, loso.context.data.apex) and back.data.samples == []
    assert torch.equal(back.inputs.choices[1].face, loso.context.inputs.choices[1].face)  # apex jitter 1: Jittered
    labels = loso.context.data.labels
    assert (back.data.labels == labels).all() and type(back.data.labels) is type(labels)  # an array stays one


def test_an_unreachable_ray_address_is_one_line_before_the_data(tiny_config, tmp_path, monkeypatch):
    """Ray itself retries a dead address for minutes; mezoo names it at once, before reading frames."""
    import socket

    from mezoo.engine import inputs

    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(inputs, "read_frames", lambda *a, **k: pytest.fail("the data was read"))
    settings = tiny_config(run={"executor": "ray", "ray": {"address": f"127.0.0.1:{port}"}})
    with pytest.raises(ConfigError, match=rf"nothing answers at run.ray.address '127.0.0.1:{port}' .*is the Ray "
                                          r"cluster up\?") as error:
        runner.run_loso(settings, tmp_path / "run", progress=False)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()
