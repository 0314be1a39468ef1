"""Executors: where the fold jobs of a run run.

An executor is a plugin component (hook ``register_executors``), built with the run's
:class:`~mezoo.settings.Settings` and used as a context manager. Its one method::

    executor.map(job, context, tasks)  # -> Outcome per task, as each finishes

calls ``job(context, task)`` for every task, the ``context`` shipped once (for the LOSO runner,
the run contexts by name; the tasks, :class:`~mezoo.loso.job.FoldTask`\\ s). The process that
calls ``map`` is the only one that writes the run directory: jobs return everything (predictions,
checkpoint bytes), so workers need no shared filesystem, and resuming and the atomic fold files
work as in one process. ``tasks`` is read lazily, one task when the executor has room for it: the
runner claims a fold (its lock in the run directory) only when it hands it out.

Built in: ``local`` (in this process, one fold after another; the default) and ``ray`` (each fold a
Ray task; :mod:`mezoo.engine.ray_executor`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from mezoo import plugins
from mezoo.settings import Settings

Task = TypeVar("Task")


@dataclass
class Outcome(Generic[Task]):
    """A task's outcome: its ``result``, or the one-line ``error`` that stopped it (with ``details``,
    such as a worker's traceback, when there are some); where it ran and the tries that failed
    before, when the executor tells."""

    task: Task
    result: Any = None
    error: str | None = None
    details: str = ""
    #: where the task ran, when the executor knows (Ray: ``{"id": node ID, "host": ..., "ip": ...}``)
    where: dict[str, str] | None = None
    #: why each earlier try of the task failed, when the executor ran it again
    retried: list[str] = field(default_factory=list)


class Executor(ABC):
    """Base of executors. Subclasses set :attr:`in_process` and implement :meth:`map`."""

    #: whether jobs run in this process (their progress bars can then be shown)
    in_process: bool = False

    def __init__(self, settings: Settings):
        self.settings = settings

    @abstractmethod
    def map(self, job: Callable[[Any, Task], Any], context: Any, tasks: Iterable[Task]) -> Iterator[Outcome[Task]]:
        """``job(context, task)`` for every task, yielding each :class:`Outcome` as it finishes."""

    def describe(self) -> str:
        """One line on where folds will run, shown before the first fold (empty: nothing to say)."""
        return ""

    def at_once(self) -> int:
        """How many jobs run at the same time."""
        return 1

    def close(self) -> None:
        """Give back what the executor started (a local Ray instance, ...)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """Each job in this process, one after another. A job's error stops the run at once, as it is
    (a deterministic error would only repeat), after the folds before it were saved."""

    in_process = True

    def map(self, job: Callable[[Any, Task], Any], context: Any, tasks: Iterable[Task]) -> Iterator[Outcome[Task]]:
        for task in tasks:
            yield Outcome(task, job(context, task))


def make_executor(settings: Settings) -> Executor:
    """The executor ``run.executor`` names, built with ``settings``.

    Raises:
        UnknownComponentError: no plugin registered that name (the message lists them).
        ConfigError: the executor cannot be used as set (e.g. Ray is not installed).
    """
    return plugins.get("executor", settings.run.executor)(settings)
