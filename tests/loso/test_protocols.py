"""Evaluation protocols: LOSO, leave one database out, cross dataset; and that no protocol lets its
test side's labels or frames reach training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.errors import ConfigError
from mezoo.loso.folds import protocol_folds
from mezoo.loso.job import run_fold
from mezoo.loso.runner import run_loso, start_run
from mezoo.settings import ProtocolSettings, SelectSettings
from tests.conftest import tiny_settings

def protocol(name, train=(), test=()):
    return ProtocolSettings(name, tuple(train), tuple(test), SelectSettings((), (), ()), 3)


GROUPS = ["a/s1", "a/s1", "a/s2", "b/s1", "b/s3", "c/s4"]
PARTS = ["a", "a", "a", "b", "b", "c"]


def test_folds_of_each_protocol():
    loso = protocol_folds(protocol("loso"), GROUPS, PARTS)
    assert [f.subject for f in loso] == ["a/s1", "a/s2", "b/s1", "b/s3", "c/s4"]
    lodo = protocol_folds(protocol("leave_one_database_out"), GROUPS, PARTS)
    assert [(f.subject, f.test.tolist(), f.train.tolist()) for f in lodo] == [
        ("a", [0, 1, 2], [3, 4, 5]), ("b", [3, 4], [0, 1, 2, 5]), ("c", [5], [0, 1, 2, 3, 4])]
    (cross,) = protocol_folds(protocol("cross_dataset", ("a", "c"), ("b",)), GROUPS, PARTS)
    assert cross.subject == "a+c -> b" and cross.slug == "a_and_c_to_b"
    assert cross.train.tolist() == [0, 1, 2, 5] and cross.test.tolist() == [3, 4]


@pytest.mark.parametrize("chosen, message", [
    (protocol("cross_dataset", (), ("b",)), r"cross_dataset needs protocol\.train: .*parts: a, b, c"),
    (protocol("cross_dataset", ("a",), ("samm",)), r"protocol\.test names samm, which this dataset has no "
                                                            r"samples of; its parts: a, b, c"),
    (protocol("cross_dataset", ("a", "b"), ("b",)), r"both name b"),
    (protocol("loso", ("a",), ()), r"protocol\.train and protocol\.test are for protocol\.name=cross_dataset"),
])
def test_bad_protocols_are_one_line(chosen, message):
    with pytest.raises(ConfigError, match=message):
        protocol_folds(chosen, GROUPS, PARTS)
    with pytest.raises(ConfigError, match="leave_one_database_out needs a dataset of at least 2 parts"):
        protocol_folds(protocol("leave_one_database_out"), GROUPS[:3], PARTS[:3])


def parted(**protocol):
    """Tiny settings on a synthetic dataset of 4 subjects in 2 parts (synthetic_a: s00, s02; _b: s01, s03)."""
    return tiny_settings(dataset={"synthetic": {"subjects": 4, "clips_per_subject": 3, "parts": 2}},
                         train={"epochs": 1}, protocol=protocol)


def test_leave_one_database_out_and_cross_dataset_runs(tmp_path):
    lodo = run_loso(parted(name="leave_one_database_out"), tmp_path / "lodo", progress=False)
    assert lodo.report["run"]["protocol"] == "leave_one_database_out" and lodo.report["run"]["folds"] == 2
    assert sorted(p.name for p in (tmp_path / "lodo" / "folds").glob("*.json")) == ["synthetic_a.json",
                                                                                   "synthetic_b.json"]
    assert lodo.report["full"]["n"] == 12  # every sample tested once
    assert set(lodo.report["subjects"]) == {"synthetic_a/s00", "synthetic_a/s02", "synthetic_b/s01",
                                            "synthetic_b/s03"}
    cross = run_loso(parted(name="cross_dataset", train=["synthetic_a"], test=["synthetic_b"]), tmp_path / "cross",
                     progress=False)
    assert cross.report["run"]["protocol"] == "cross_dataset (synthetic_a -> synthetic_b)"
    assert cross.report["full"]["n"] == 6 and set(cross.report["subjects"]) == {"synthetic_b/s01", "synthetic_b/s03"}
    assert "cross_dataset (synthetic_a -> synthetic_b)" in cross.markdown
    # runs of different protocols are not compared
    refused = CliRunner().invoke(cli, ["compare", str(tmp_path / "lodo"), str(tmp_path / "cross"),
                                       "--out", str(tmp_path / "c.png")])
    assert refused.exit_code != 0 and "different protocols" in refused.output


def test_a_bad_protocol_stops_before_any_frame(tmp_path, monkeypatch):
    import mezoo.engine.frames as frames

    def no_reading(*args, **kwargs):
        raise AssertionError("frames were read")

    monkeypatch.setattr(frames, "read_frames", no_reading)
    result = CliRunner().invoke(cli, ["run", "--protocol", "leave_one_database_out", "--out", str(tmp_path / "r"),
                                      "--quiet", "--set", "train.epochs=1"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1].startswith("Error: leave_one_database_out needs a dataset of at "
                                                             "least 2 parts (e.g. --dataset megc2019); this one "
                                                             "has 1: synthetic")


@pytest.mark.parametrize("protocol", [
    {"name": "loso"},
    {"name": "leave_one_database_out"},
    {"name": "cross_dataset", "train": ["synthetic_a"], "test": ["synthetic_b"]},
    {"name": "loso", "select": {"epochs": [1, 2]}, "inner_folds": 2},
])
@pytest.mark.parametrize("displacement", ["farneback", "dgm"])
def test_no_protocol_looks_at_its_test_side(tmp_path, protocol, displacement):
    """Each protocol's first fold, trained twice: once as is, once with its test side's labels
    changed (all one class) and its frames replaced by noise in the self-supervision pairs. If any choice (an
    epoch, a class weight, a threshold, a statistic, a self-supervised step) looked at the test
    side, the predictions would differ; they are identical to the bit."""
    settings = parted(**protocol)
    settings = settings.changed({"displacement": {"name": displacement,
                                                  "dgm": {"warmup_steps": 4, "pair_batch_size": 4, "width": 4}}})
    run = start_run(settings, tmp_path / "run", progress=False)
    fold = run.folds[0]
    context = run.context
    before = run_fold(context, fold)

    labels = context.data.labels.copy()
    labels[fold.test] = 0  # the test side all one class: its labels and its class counts change
    assert (labels != context.data.labels).any()
    data = dataclasses.replace(context.data, labels=labels)
    inputs = context.inputs
    if inputs.pairs is not None:  # the DGM's self-supervision: the test side's pairs turned to noise
        test_groups = np.unique(context.data.groups[fold.test])
        pairs = inputs.pairs
        hidden = np.isin(pairs.groups, test_groups)
        assert hidden.any()
        first, second = pairs.first.clone(), pairs.second.clone()
        first[hidden] = first[hidden].flip(-1)
        second[hidden] = second[hidden].flip(-2)
        inputs = dataclasses.replace(inputs, pairs=dataclasses.replace(pairs, first=first, second=second))
    after = run_fold(dataclasses.replace(context, data=data, inputs=inputs), fold)
    assert after.keys == before.keys and after.y_pred == before.y_pred
    assert after.probs == before.probs


def test_selection_inside_each_fold(tmp_path, monkeypatch):
    """--select: each fold's choice comes from its training subjects only, is recorded per fold,
    and the fold is then trained with it."""
    import mezoo.loso.job as job

    seen: list[tuple[str, list[int], int]] = []
    real = job.fit_model

    def spying(context, rows, device, name="model"):
        seen.append((name, sorted(rows.tolist()), context.settings.train.epochs))
        return real(context, rows, device, name=name)

    monkeypatch.setattr(job, "fit_model", spying)
    settings = tiny_settings(train={"epochs": 1}, protocol={"select": {"epochs": [1, 2]}, "inner_folds": 2})
    result = run_loso(settings, tmp_path / "run", progress=False)
    run = start_run(settings, tmp_path / "run", progress=False)  # every fold finished: reads them back
    for fold in run.folds:
        test = set(fold.test.tolist())
        mine = [s for s in seen if s[0].startswith(fold.subject)]
        assert len(mine) == 2 * 2 + 1  # 2 candidates x 2 inner groups, then the fold itself
        assert all(not test & set(rows) for _, rows, _ in mine)
        inner_rows = [rows for name, rows, _ in mine if "/inner-" in name]
        assert sorted(set().union(*inner_rows)) == sorted(fold.train.tolist())
        chosen = result.report["selection"]["folds"][fold.subject]
        assert chosen["chosen"]["epochs"] in (1, 2) and [c["epochs"] for c in chosen["inner"]] == [1, 2]
        assert mine[-1] == (fold.subject, sorted(fold.train.tolist()), chosen["chosen"]["epochs"])
    assert "Chosen inside each fold (inner cross-validation over each fold's training subjects" in result.markdown
    assert "| fold | train.epochs | inner UF1 of each candidate |" in result.markdown


def test_inner_trainings_are_tasks_of_the_executor_saved_as_they_land(tmp_path, monkeypatch):
    """The inner trainings go to the executor as tasks of their own (Ray spreads them like folds), each
    saved in inner/<fold>/; a run stopped after them trains none of them again, and the choice is the
    one the fold would make on its own (select_inside)."""
    import mezoo.loso.job as job
    from mezoo.engine.executors import LocalExecutor

    class Recording(LocalExecutor):
        def __init__(self, settings):
            super().__init__(settings)
            self.jobs = []

        def map(self, fn, context, tasks):
            tasks = list(tasks)
            self.jobs.append((fn.__name__, [type(t).__name__ for t in tasks]))
            return super().map(fn, context, tasks)

    settings = tiny_settings(train={"epochs": 1}, protocol={"select": {"epochs": [1, 2]}, "inner_folds": 2})
    executor = Recording(settings)
    first = run_loso(settings, tmp_path / "run", progress=False, executor=executor)
    assert executor.jobs == [("inner_job", ["InnerTask"] * 12), ("fold_job", ["FoldTask"] * 3)]
    saved = sorted(p.relative_to(tmp_path / "run" / "inner").as_posix() for p in (tmp_path / "run").glob("inner/*/*"))
    assert saved == [f"synthetic__s0{s}/c{c}-g{g}.json" for s in range(3) for c in range(2) for g in range(2)]

    for fold_file in (tmp_path / "run" / "folds").glob("*.json"):
        fold_file.unlink()  # as if stopped after the inner trainings
    (tmp_path / "run" / "inner" / "synthetic__s01" / "c1-g0.json").write_text("{damaged")
    names: list[str] = []
    real = job.fit_model

    def spying(context, rows, device, name="model"):
        names.append(name)
        return real(context, rows, device, name=name)

    monkeypatch.setattr(job, "fit_model", spying)
    again = run_loso(settings, tmp_path / "run", progress=False)
    assert sorted(names) == ["synthetic/s00", "synthetic/s01", "synthetic/s01/inner-0", "synthetic/s02"]
    assert again.report["selection"] == first.report["selection"]
    assert again.report["full"] == first.report["full"]

    run = start_run(settings, tmp_path / "other", progress=False)
    fold = run.folds[1]
    alone = job.select_inside(run.context, fold)
    assert {"chosen": alone.chosen, "inner": alone.inner} == {
        k: first.report["selection"]["folds"][fold.subject][k] for k in ("chosen", "inner")}


def test_select_on_the_command_line(tmp_path):
    bad = CliRunner().invoke(cli, ["run", "--select", "train.batch_size=8,16", "--out", str(tmp_path / "r")])
    assert bad.exit_code == 2 and "KEY one of train.epochs, train.lr, train.weight_decay" in bad.output
    bad = CliRunner().invoke(cli, ["run", "--select", "train.epochs=10,x", "--out", str(tmp_path / "r")])
    assert bad.exit_code != 0 and "protocol.select.epochs is 'x'; it must be a whole number" in bad.output


def test_the_fingerprint_counts_the_protocol_only_when_it_is_not_plain_loso():
    plain = tiny_settings()
    assert "protocol" in plain.as_dict()
    same = tiny_settings(protocol={"name": "loso", "inner_folds": 3})
    assert same.fingerprint == plain.fingerprint
    others = {tiny_settings(protocol={"name": "leave_one_database_out"}).fingerprint,
              tiny_settings(protocol={"select": {"epochs": [1, 2]}}).fingerprint,
              tiny_settings(protocol={"inner_folds": 4}).fingerprint}
    assert len(others) == 3 and plain.fingerprint not in others
