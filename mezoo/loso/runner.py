"""A whole LOSO run: settings -> data -> model inputs -> executor -> fold results -> report.

The protocol's pieces live beside this module: the run directory (:mod:`mezoo.loso.rundir`), the
fold job (:mod:`mezoo.loso.job`) and the report (:mod:`mezoo.loso.report`); the input path
(:mod:`mezoo.engine.inputs`) and the executors (:mod:`mezoo.engine.executors`) are the training
engine's. This module drives them:
:func:`start_run` checks what can be checked without the data, reads the data and computes the
model inputs every fold shares; :func:`drive` hands the unfinished folds of one or more runs to an
executor and saves each result as it arrives (this process is the only writer of the run
directories); :meth:`LosoRun.finish` writes the report.

Running the same settings into the same directory again skips the folds already written, so an
interrupted run resumes where it stopped; two runs started on one directory share the folds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from mezoo.engine.executors import Executor, Outcome, make_executor
from mezoo.engine.fit import TrainingContext
from mezoo.engine.frames import Frames
from mezoo.engine.features import features_path
from mezoo.engine.inputs import choose_input_path
from mezoo.engine.setup import setup
from mezoo.errors import DataError, MezooError
from mezoo.layout import default_run_dir
from mezoo.loso.folds import Fold, FoldResult, check_protocol, protocol_folds
from mezoo.loso.job import FoldTask, InnerResult, InnerTask, Selection, choose, fold_job, inner_job, inner_keys, inner_tasks
from mezoo.loso.report import write_report
from mezoo.loso.rundir import RunDir
from mezoo.settings import Settings, load_settings


class FoldsFailed(MezooError):
    """Some folds' jobs failed; the others were saved."""


@dataclass
class RunResult:
    """What a run produced: its directory, the report and which folds this call trained."""

    run_dir: Path
    report: dict[str, Any]
    markdown: str
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class LosoRun:
    """One LOSO run being driven: its directory and settings, the data, the folds, the results so far
    (finished folds read back, then each trained one), the context its fold jobs get (``None``
    when every fold had finished before) and the name of its input path."""

    directory: RunDir
    settings: Settings
    classes: tuple[str, ...]
    data: Frames
    folds: list[Fold]
    results: dict[str, FoldResult]
    context: TrainingContext | None
    inputs: str = ""
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.folds)

    def keys(self, fold: Fold) -> list[str]:
        return [self.data.keys[i] for i in fold.test]

    def finish(self) -> RunResult:
        """Pool and score the folds' predictions and write the report files."""
        report, text = write_report(self.directory.path, self.settings, self.classes, self.data, self.folds,
                                    self.results, self.inputs)
        return RunResult(self.directory.path, report, text, self.trained, self.skipped)


def start_run(settings: Settings, run_dir: str | Path | None = None, progress: bool = True,
              in_process: bool = True, frames: dict[str, Frames] | None = None) -> LosoRun:
    """Check, open the run directory, read the data, read back finished folds and, if folds are
    left, compute the model inputs every fold shares.

    ``in_process``: the folds will run in this process (their epoch bars are then shown).
    ``frames``: data already read, by what reading depends on (the input path's reader, the dataset,
    face and sequence settings, apex jitter): runs given the same dict read the frames once (the
    ablation's rows).

    Raises:
        ConfigError, DataError, StorageError: before any frame is read when the settings, the device,
            the dataset or the run directory cannot be used; DataError: fewer than two subjects.
    """
    run = RunDir(run_dir if run_dir is not None else default_run_dir(settings), settings)
    checked = setup(settings)
    path = features_path(settings) if settings.classical else choose_input_path(settings, checked.model)
    check_protocol(settings.protocol, [s.dataset for s in checked.samples])
    run.open()
    plain = settings.as_dict()  # what reading the frames depends on:
    key = json.dumps([path.read.__qualname__, plain["dataset"], plain["face"], plain["sequence"],
                      plain["train"]["apex_jitter"], plain["train"]["augmentations"]], sort_keys=True)
    frames = {} if frames is None else frames
    if key not in frames:
        frames[key] = path.read(settings, checked.dataset, checked.samples, progress)
    data = frames[key]
    folds = protocol_folds(settings.protocol, data.groups, data.parts)
    if settings.protocol.name == "loso" and len(folds) < 2:
        raise DataError(f"leave-one-subject-out needs at least 2 subjects; the dataset has {len(folds)}")
    loso = LosoRun(run, settings, checked.classes, data, folds, {}, None, path.name)
    for fold in folds:
        if (done := run.finished(fold, loso.keys(fold))) is not None:
            loso.results[fold.subject] = done
            loso.skipped.append(fold.subject)
    if not loso.complete:
        inputs = path.compute(settings, checked.model, data, checked.device, progress)
        loso.context = TrainingContext(settings, data.shipped(), inputs, len(checked.classes), progress and in_process)
    return loso


def run_loso(settings: Settings | Mapping[str, Any], run_dir: str | Path | None = None, progress: bool = True,
             executor: Executor | None = None) -> RunResult:
    """Run leave-one-subject-out training and evaluation as ``settings`` say.

    ``settings``: from :func:`~mezoo.settings.load_settings`; a plain mapping is read as
    overrides of the defaults by that function (so component defaults apply).
    ``executor``: where the folds run; by default the one ``run.executor`` names.
    Everything that can be checked without the data (settings, device, the model's sizes, the run
    directory, the executor: Ray started or reached) is checked before any frame is read.

    Returns:
        The run's directory and report. Folds already in ``run_dir/folds`` are not trained again;
        a fold another process is training is waited for, not trained twice.

    Raises:
        FoldsFailed: an executor reported failed folds (the others are saved; run again to retry them).
    """
    if not isinstance(settings, Settings):
        settings = load_settings(overrides=settings)
    executor = executor or make_executor(settings)
    with executor:
        loso = start_run(settings, run_dir, progress, executor.in_process)
        drive([loso], executor, progress)
    return loso.finish()


def drive(runs: list[LosoRun], executor: Executor, progress: bool = True,
          on_complete: Callable[[LosoRun], None] | None = None) -> None:
    """Train the unfinished folds of ``runs`` on ``executor``, saving each result as it arrives.

    A fold is claimed (its lock in the run directory) when the executor takes it; one that another
    process holds is waited for at the end, and trained here if that process stopped first.
    ``on_complete(run)`` is called as each run's last fold lands (at once for runs already complete).

    Raises:
        FoldsFailed: after every other fold was saved, naming each failed fold and what stopped it.
    """
    contexts = {i: r.context for i, r in enumerate(runs) if r.context is not None}
    tasks = [FoldTask(i, f) for i, r in enumerate(runs) for f in r.folds if f.subject not in r.results]
    for run in runs:
        if run.complete and on_complete is not None:
            on_complete(run)
    if not tasks:
        return
    held: dict[tuple[int, str], Any] = {}
    elsewhere: list[FoldTask] = []
    order = {(t.run, t.fold.subject): i for i, t in enumerate(tasks)}
    if progress and (where := executor.describe()):
        tqdm.write(where)
    selections, unselected = _select(runs, contexts, tasks, executor, progress)
    failed = [(order[key], line) for key, line in unselected.items()]
    tasks = [dataclasses.replace(t, selection=selections.get((t.run, t.fold.subject))) for t in tasks
             if not runs[t.run].settings.protocol.select.active or (t.run, t.fold.subject) in selections]
    bar = tqdm(total=len(tasks), desc="LOSO", unit="fold", disable=not progress)

    def landed(task: FoldTask, result: FoldResult, trained: bool) -> None:
        run = runs[task.run]
        run.results[task.fold.subject] = result
        (run.trained if trained else run.skipped).append(task.fold.subject)
        bar.update()
        if run.complete and on_complete is not None:
            on_complete(run)

    def claimed(todo: Iterable[FoldTask], wait: bool) -> Iterator[FoldTask]:
        """The tasks this process holds the lock of, as the executor takes them."""
        for task in todo:
            run = runs[task.run]
            if wait and progress:
                tqdm.write(f"fold {task.fold.subject} is being trained by another run on {run.directory.path}; waiting")
            lock = run.directory.lock(task.fold, wait=wait)
            if lock is None:
                elsewhere.append(task)
                continue
            done = run.directory.finished(task.fold, run.keys(task.fold))  # another run may have finished it
            if done is not None:
                lock.release()
                landed(task, done, trained=False)
                continue
            held[task.run, task.fold.subject] = lock
            yield task

    try:
        for todo, wait in ((tasks, False), (elsewhere, True)):
            if not todo:  # (no fold held by another run)
                continue
            with contextlib.closing(executor.map(fold_job, contexts, claimed(list(todo), wait))) as outcomes:
                for outcome in outcomes:
                    task, run = outcome.task, runs[outcome.task.run]
                    try:
                        if outcome.error is not None:
                            where = run.directory.save_failure(task.fold, outcome.details or outcome.error)
                            failed.append((order[task.run, task.fold.subject],
                                           f"{task.fold.subject} in {run.directory.path}: {outcome.error} (see {where})"))
                            bar.update()
                        else:
                            result = dataclasses.replace(outcome.result, node=outcome.where, retried=outcome.retried)
                            run.directory.save(task.fold, result)
                            landed(task, result, trained=True)
                        if outcome.retried:
                            tqdm.write(retry_line(f"fold {task.fold.subject}", outcome))
                    finally:
                        held.pop((task.run, task.fold.subject)).release()
    finally:
        bar.close()
        for lock in held.values():
            lock.release()
    if failed:
        saved = sum(len(r.results) for r in runs)
        named = "; ".join(line for _, line in sorted(failed))  # in fold order, however they landed
        raise FoldsFailed(f"{len(failed)} fold(s) failed: {named}. The {saved} finished fold(s) are "
                          f"saved: run the same command again to train the failed ones")


def _select(runs: list[LosoRun], contexts: Mapping[int, TrainingContext], tasks: list[FoldTask], executor: Executor,
            progress: bool) -> tuple[dict[tuple[int, str], Selection], dict[tuple[int, str], str]]:
    """The model selection (``protocol.select``) of every fold in ``tasks`` that chooses settings
    inside: its inner trainings handed to ``executor`` as tasks of their own (so Ray spreads them
    over the cluster, all folds' at once), each saved in the run directory as it arrives (a run
    stopped half way trains only the missing ones again), then the choice per fold (:func:`choose`).

    Returns:
        The selection by (run, fold subject), and a line by (run, fold subject) for each fold whose
        inner trainings failed (those folds are left out of this call; the others go on).
    """
    wanted = [t for t in tasks if runs[t.run].settings.protocol.select.active]
    if not wanted:
        return {}, {}
    results: dict[tuple[int, str], dict[tuple[int, int], InnerResult]] = {(t.run, t.fold.subject): {} for t in wanted}
    todo: list[InnerTask] = []
    for task in wanted:
        for inner in inner_tasks(contexts[task.run], task.run, task.fold):
            todo.append(inner)
    failed: dict[tuple[int, str], str] = {}
    bar = tqdm(total=len(todo), desc="inner CV", unit="training", disable=not progress or not todo)

    def saved(inner: InnerTask) -> InnerResult | None:
        return runs[inner.run].directory.inner_finished(inner.fold, inner.name, inner_keys(contexts[inner.run], inner))

    def missing() -> Iterator[InnerTask]:
        """The inner trainings with no saved result (another run on the directory may save some meanwhile)."""
        for inner in todo:
            if (inner.run, inner.fold.subject) in failed:
                bar.update()
            elif (done := saved(inner)) is not None:
                results[inner.run, inner.fold.subject][inner.candidate, inner.group] = done
                bar.update()
            else:
                yield inner

    try:
        with contextlib.closing(executor.map(inner_job, contexts, missing())) as outcomes:
            for outcome in outcomes:
                inner, run = outcome.task, runs[outcome.task.run]
                if outcome.error is not None:
                    where = run.directory.save_failure(inner.fold, outcome.details or outcome.error)
                    failed[inner.run, inner.fold.subject] = (
                        f"{inner.fold.subject} in {run.directory.path}: inner training {inner.name}: {outcome.error} "
                        f"(see {where})")
                else:
                    run.directory.save_inner(inner.fold, inner.name, outcome.result)
                    results[inner.run, inner.fold.subject][inner.candidate, inner.group] = outcome.result
                if outcome.retried:
                    tqdm.write(retry_line(f"inner training {inner.name} of fold {inner.fold.subject}", outcome))
                bar.update()
    finally:
        bar.close()
    selections = {key: choose(contexts[key[0]], got) for key, got in results.items() if key not in failed}
    return selections, failed


def retry_line(what: str, outcome: Outcome[Any]) -> str:
    """One line on a task the executor ran more than once: why each try failed and how it ended."""
    end = f"failed: {outcome.error}" if outcome.error is not None else "finished"
    if outcome.error is None and outcome.where:
        end += f" on {outcome.where.get('host', '?')} (node {outcome.where.get('id', '?')[:12]})"
    return f"{what} was retried ({len(outcome.retried)} failed tr{'y' if len(outcome.retried) == 1 else 'ies'}: " \
           f"{'; '.join(outcome.retried)}); {end}"
