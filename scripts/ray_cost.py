"""What a LOSO run costs in this process, on a local Ray instance and on a Ray cluster of several
nodes (the measured cost model of "How it scales" in docs/cluster.md).

    python scripts/ray_cost.py [--modes in_process,local,cluster] [--cpus 2] [--config FILE] [--set KEY=VALUE ...]

The same settings (mezoo's defaults on the embedded ``synthetic`` data unless ``--config`` / ``--set``
say otherwise; the executor is set by the mode) run once per mode, each into a fresh run directory,
the face and displacement caches warm (a first in-process preparation fills them, untimed):

- ``in_process``: folds one after another in this process (``run.executor local``);
- ``local``: a local Ray instance of ``--cpus`` CPUs started by mezoo (``run.ray.local_cpus``);
- ``cluster``: ``ray.cluster_utils.Cluster`` on this machine: a head with no CPUs and ``--cpus``
  worker nodes of one CPU each, so every fold crosses to another node's raylet and object store.

For each it prints: the seconds to start or reach Ray (``start``), to prepare the data and the
inputs every fold shares (``prepare``: same in every mode, it stays in the ``mezoo`` process),
to run the folds (``folds``: from the first task handed out to the last result saved), the folds'
own training seconds summed (``fold time``, as each task measured it) and over the waves
``ceil(folds / at once)`` the model predicts, and ``overhead`` = ``folds`` minus the model's
``waves x mean fold time``: what shipping the data, starting workers and collecting results add.
The bytes a task's shared context pickles to (what each node pulls once from the object store) are
printed too. Runs on 2 CPU cores compete for them: the in-process folds use both cores each, a
one-CPU task one (``run.ray.num_cpus``), so compare ``fold time`` between modes with that in mind.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
import time
from pathlib import Path

from mezoo.config import merge, parse_set
from mezoo.engine.executors import make_executor
from mezoo.loso import runner
from mezoo.settings import load_settings

MODES = ("in_process", "local", "cluster")


@dataclasses.dataclass
class Cost:
    mode: str
    at_once: int
    start: float
    prepare: float
    folds: float
    fold_times: list[float]
    context_bytes: int

    @property
    def waves(self) -> int:
        return math.ceil(len(self.fold_times) / self.at_once)

    @property
    def overhead(self) -> float:
        return self.folds - self.waves * sum(self.fold_times) / len(self.fold_times)

    def row(self) -> str:
        mean = sum(self.fold_times) / len(self.fold_times)
        total = self.start + self.prepare + self.folds
        return (f"| {self.mode} | {self.at_once} | {self.start:.1f} | {self.prepare:.1f} | {self.folds:.1f} | "
                f"{len(self.fold_times)} x {mean:.1f} | {self.waves} | {self.overhead:+.1f} | {total:.1f} | "
                f"{self.context_bytes / 2**20:.1f} |")


HEADER = ("| mode | at once | start s | prepare s | folds s | fold time s | waves | overhead s | total s | "
          "context MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def measure(mode: str, overrides: dict, config: Path | None, cpus: int, out: Path) -> Cost:
    """One run of ``mode`` into ``out``, timed piece by piece."""
    import ray

    executor_settings = {"in_process": {"executor": "local"},
                         "local": {"executor": "ray", "ray": {"local_cpus": cpus, "address": None}},
                         "cluster": {"executor": "ray"}}[mode]
    settings = load_settings(config, merge(overrides, {"run": executor_settings}))
    cluster = None
    if mode == "cluster":
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        for _ in range(cpus):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address)  # this process joins it; the executor uses it as it is
    try:
        executor = make_executor(settings)
        began = time.perf_counter()
        with executor:
            started = time.perf_counter()
            loso = runner.start_run(settings, out, progress=False, in_process=executor.in_process)
            prepared = time.perf_counter()
            runner.drive([loso], executor, progress=False)
            done = time.perf_counter()
            at_once = executor.at_once()
        loso.finish()
        size = len(ray.cloudpickle.dumps(loso.context))
    finally:
        if cluster is not None:
            ray.shutdown()
            cluster.shutdown()
    times = [loso.results[f.subject].seconds for f in loso.folds]
    return Cost(mode, at_once, started - began, prepared - started, done - prepared, times, size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES), help="which of in_process, local, cluster (comma-separated)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local instance; worker nodes of the cluster")
    parser.add_argument("--config", type=Path, help="a settings file, as mezoo run --config")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting, as mezoo run --set (repeatable)")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        parser.error(f"--modes {args.modes!r}: give some of {', '.join(MODES)}")
    if args.cpus < 1:
        parser.error("--cpus must be at least 1")
    overrides = parse_set(tuple(args.sets))
    costs = []
    with tempfile.TemporaryDirectory() as folder:
        warm = load_settings(args.config, merge(overrides, {"run": {"executor": "local"}}))
        runner.start_run(warm, Path(folder) / "warm", progress=False)  # fills the face and provider caches
        for mode in modes:
            costs.append(measure(mode, overrides, args.config, args.cpus, Path(folder) / mode))
            print(f"{mode}: done", file=sys.stderr)
    print(HEADER)
    for cost in costs:
        print(cost.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
