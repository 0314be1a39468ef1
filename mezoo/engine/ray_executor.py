"""The ``ray`` executor: each fold a Ray task, on a local Ray instance or an existing cluster.

``pip install "mezoo[ray]"``, then ``mezoo run --executor ray`` (or ``run.executor: ray``). With
``run.ray.address`` unset a local instance is started (``run.ray.local_cpus`` CPUs, default all)
and stopped at the end; ``auto`` or ``ray://HOST:10001`` joins a running cluster, whose nodes need
mezoo and the plugins the run uses installed (workers load plugins from entry points, as
``mezoo`` does).

- The run contexts (settings, the frames read once, precomputed model inputs) go to the object store
  once (``ray.put``); every task reads them from there (on the same machine without a copy).
- One task per fold, asking for ``run.ray.num_cpus`` CPUs (its torch threads too) and
  ``run.ray.num_gpus`` GPUs (default: one when the cluster has GPUs and ``run.device`` is not
  ``cpu``). At most twice as many tasks as the cluster can run at once are handed out, so
  folds are claimed in the run directory only shortly before they start.
- A task that raises an unexpected error, or whose worker or node dies, is submitted again
  ``run.ray.retries`` times (default once; by this executor, not Ray, so each failed try and its
  reason reach the run: printed, and kept in the fold file), then reported by fold; mezoo's own
  errors (a fold that diverged, bad data) would only repeat and are reported at once. Finished
  folds are saved as they arrive, with the node that ran them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mezoo.errors import ConfigError, MezooError, UnknownComponentError
from mezoo.engine.executors import Executor, Outcome, Task
from mezoo.settings import Settings

#: how many tasks are handed out per task the cluster can run at once
QUEUE_FACTOR = 2


def _run(job: Callable[[Any, Any], Any], context: Any, task: Any,
         threads: int) -> tuple[Any, str | None, dict[str, str]]:
    """A Ray task: ``job(context, task)`` with ``threads`` torch threads -> (result, None, node) or
    (None, error, node); ``node``: where it ran (Ray's node ID, the host name and the node's IP)."""
    import ray
    import torch

    torch.set_num_threads(threads)
    node = {"id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
            "ip": ray.util.get_node_ip_address()}
    try:
        return job(context, task), None, node
    except UnknownComponentError as exc:
        return None, (f"{exc} (on a Ray worker: workers load plugins from installed distributions' entry points; "
                      f"install the plugin where the workers run)"), node
    except MezooError as exc:  # deterministic: a retry would only repeat it
        return None, str(exc), node


def why_it_failed(exc: Exception) -> str:
    """One line on why a Ray task failed: the error it raised (its last line), or that its node or
    its worker died (with the node's ID and IP, which Ray's message gives)."""
    import ray

    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        text = str(cause).strip()
        return f"{type(cause).__name__}: {text.splitlines()[-1] if text else ''}"
    if isinstance(exc, ray.exceptions.NodeDiedError):
        text = str(exc)
        node, ip = re.search(r"node ID: (\w+)", text), re.search(r"Node IP: ([\w.:]+)", text)
        where = ", ".join(f"{k} {m.group(1)}" for k, m in (("node", node), ("IP", ip)) if m is not None)
        return f"NodeDiedError: its node died ({where or 'node unknown'})"
    return f"{type(exc).__name__}: its worker died"


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast, in one line, when nothing answers at a ``HOST:PORT`` or ``ray://HOST:PORT`` address
    (Ray itself keeps retrying for minutes). ``auto`` and other forms are left to Ray.

    Raises:
        ConfigError: the host does not resolve or refuses, or the connection times out.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"nothing answers at run.ray.address {address!r} ({exc.strerror or exc}); is the Ray cluster "
                          f"up? give its head's address (ray://HOST:10001 for Ray Client, HOST:6379 on a node of the "
                          f"cluster, or auto there), or leave run.ray.address empty to start a local "
                          f"instance") from None


class RayExecutor(Executor):
    """Folds as Ray tasks (see the module docstring)."""

    in_process = False

    def __init__(self, settings: Settings):
        super().__init__(settings)
        if importlib.util.find_spec("ray") is None:
            raise ConfigError('run.executor ray needs Ray, which is not installed here: pip install "mezoo[ray]"')
        self.options = settings.run.ray
        self._started = False
        self._shape: tuple[float, float, int] | None = None

    def __enter__(self) -> RayExecutor:
        """Start or reach Ray and check what a task asks for, before the run reads any data."""
        self._ready()
        return self

    def _ready(self) -> tuple[float, float, int]:
        """Ray started or reached (once), and the tasks' shape: CPUs and GPUs each, how many at once."""
        if self._shape is None:
            self._connect()
            self._shape = self._resources()
        return self._shape

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():  # the caller's instance or cluster: used as it is, left running
            return
        address = self.options.address
        if address:
            _check_reachable(address)
        try:
            if address:
                ray.init(address=address)
            else:
                # "local": a new instance even where RAY_ADDRESS or a cluster started earlier on this
                # machine (Ray's /tmp/ray/ray_current_cluster, left by `ray start`) names another one
                ray.init(address="local", num_cpus=self.options.local_cpus, include_dashboard=False)
                self._started = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at run.ray.address {address!r}" if address else "a local Ray instance"
            token = ""
            if address and os.environ.get("RAY_AUTH_MODE") != "token":
                token = ("; a cluster started with token authentication (ray start's default since Ray 2.59) also "
                         "needs RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN, or ~/.ray/auth_token) in this "
                         "process's environment")
            raise ConfigError(f"cannot start or reach {where} ({str(exc).strip().splitlines()[0]}); for a cluster "
                              f"give its address (auto on one of its nodes, or ray://HOST:10001), or leave "
                              f"run.ray.address empty to start a local instance{token}") from None

    def _resources(self) -> tuple[float, float, int]:
        """CPUs and GPUs per task and how many tasks the cluster runs at once.

        Raises:
            ConfigError: a task asks for more than the cluster has, or CUDA without a GPU.
        """
        import ray

        have = ray.cluster_resources()
        cpus, gpus = float(self.options.num_cpus), self.options.num_gpus
        device = self.settings.run.device
        if gpus is None:
            gpus = 1.0 if have.get("GPU", 0) >= 1 and device != "cpu" else 0.0
        if device.startswith("cuda") and gpus == 0:
            raise ConfigError(f"run.device is {device} but the fold tasks get no GPU (the Ray cluster has "
                              f"{have.get('GPU', 0):g}, run.ray.num_gpus is {self.options.num_gpus}); set "
                              f"run.ray.num_gpus, or --device auto")
        for name, want in (("CPU", cpus), ("GPU", gpus)):
            if want > have.get(name, 0):
                raise ConfigError(f"each fold task asks for {want:g} {name}s (run.ray.num_{name.lower()}s), but the "
                                  f"Ray cluster has {have.get(name, 0):g}; ask for less")
        limits = [have.get(name, 0) // want for name, want in (("CPU", cpus), ("GPU", gpus)) if want > 0]
        return cpus, gpus, max(1, int(min(limits)))

    def at_once(self) -> int:
        """The tasks the cluster runs at once: its CPUs / ``num_cpus`` (or GPUs / ``num_gpus``)."""
        return self._ready()[2]

    def describe(self) -> str:
        import ray

        cpus, gpus, at_once = self._ready()
        have = ray.cluster_resources()
        where = "a local Ray instance" if self._started else f"Ray at {self.options.address or 'this process'}"
        return (f"folds on {where} ({have.get('CPU', 0):g} CPUs, {have.get('GPU', 0):g} GPUs): {at_once} at once, "
                f"each {cpus:g} CPU(s) and {gpus:g} GPU(s)")

    def map(self, job: Callable[[Any, Task], Any], context: Any, tasks: Iterable[Task]) -> Iterator[Outcome[Task]]:
        """Each task a Ray task; one whose worker or node died, or that raised an unexpected error,
        is submitted again (``run.ray.retries`` times) by this loop rather than by Ray, so the
        :class:`Outcome` says which tries failed and why (``retried``) and where the last ran (``where``)."""
        import ray

        cpus, gpus, at_once = self._ready()
        remote = ray.remote(_run).options(num_cpus=cpus, num_gpus=gpus, max_retries=0)
        shared = ray.put(context)
        threads = max(1, int(cpus))
        pending: dict[Any, tuple[Task, list[str]]] = {}
        todo = iter(tasks)
        try:
            while True:
                while len(pending) < QUEUE_FACTOR * at_once and (task := next(todo, None)) is not None:
                    pending[remote.remote(job, shared, task, threads)] = (task, [])
                if not pending:
                    return
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                task, failures = pending.pop(ref)
                try:
                    result, error, node = ray.get(ref)
                except ray.exceptions.RayError as exc:  # raised unexpectedly, or the worker or its node died
                    failures.append(why_it_failed(exc))
                    if len(failures) <= self.options.retries:
                        pending[remote.remote(job, shared, task, threads)] = (task, failures)
                        continue
                    yield Outcome(task, error=f"{failures[-1]} (tried {len(failures)} time(s))", details=str(exc),
                                  retried=failures[:-1])
                    continue
                yield Outcome(task, result, error, where=node, retried=failures)
        finally:
            for ref in pending:  # stopped early (Ctrl-C, an error): the rest are not wanted
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._shape = None
