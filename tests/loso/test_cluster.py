"""A LOSO run on a Ray cluster of several nodes on this one machine (``ray.cluster_utils``): a head
with no CPUs and three worker nodes of distinct resources; the folds land on every node, one node
is removed while it runs a fold, and the run finishes with the in-process run's predictions, saying
which fold was retried and why; and the walk-through of a cluster (docs/cluster.md) of one's own machines,
run as written."""

import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray
import torch
from ray.cluster_utils import Cluster

from mezoo.engine.ray_executor import RayExecutor
from mezoo.loso import runner

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests

WORKERS = ({"zone_a": 1.0}, {"zone_b": 1.0}, {"zone_c": 1.0, "big_memory": 1.0})


@pytest.fixture
def cluster():
    """A head (no CPUs: it only schedules) and three worker nodes of one CPU each; this process joins it."""
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 80 * 2**20})
    nodes = [made.add_node(num_cpus=1, resources=extra, object_store_memory=80 * 2**20) for extra in WORKERS]
    made.wait_for_nodes()
    ray.init(address=made.address)
    try:
        yield made, nodes
    finally:
        ray.shutdown()
        made.shutdown()


class Holding:
    """A fold job that, on the first try of fold ``subject``, writes the ID of the node it runs on to
    ``marker`` and then waits, so that the test can remove that node while the fold runs on it."""

    def __init__(self, job, subject, marker):
        self.job, self.subject, self.marker = job, subject, marker

    def __call__(self, context, task):
        if task.fold.subject == self.subject and not self.marker.exists():
            self.marker.write_text(ray.get_runtime_context().get_node_id())
            time.sleep(90)
        return self.job(context, task)


class HoldingExecutor(RayExecutor):
    def __init__(self, settings, subject, marker):
        super().__init__(settings)
        self.subject, self.marker = subject, marker

    def map(self, job, context, tasks):
        return super().map(Holding(job, self.subject, self.marker), context, tasks)


def _predictions(run_dir):
    return {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k in ("subject", "keys", "y_pred", "probs")}
            for p in sorted((run_dir / "folds").glob("*.json"))}


def test_a_run_on_three_nodes_survives_losing_one(cluster, tiny_config, tmp_path, capsys):
    made, nodes = cluster
    workers = {n.node_id for n in nodes}
    assert len(workers) == 3 and ray.cluster_resources()["CPU"] == 3

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the reference on one torch thread, as each Ray task has: equal to the bit
    try:
        local = runner.run_loso(tiny_config(train={"epochs": 1}), tmp_path / "local", progress=False)
    finally:
        torch.set_num_threads(threads)

    settings = tiny_config(train={"epochs": 1}, run={"executor": "ray"})
    marker = tmp_path / "held-on"
    outcome = {}

    def drive():
        try:
            outcome["result"] = runner.run_loso(settings, tmp_path / "cluster", progress=False,
                                                executor=HoldingExecutor(settings, "synthetic/s01", marker))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=drive)
    thread.start()
    deadline = time.monotonic() + 120
    while not marker.exists() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), outcome
    victim = marker.read_text()
    made.remove_node(next(n for n in nodes if n.node_id == victim), allow_graceful=False)
    thread.join(timeout=240)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    result = outcome["result"]

    assert _predictions(tmp_path / "cluster") == _predictions(tmp_path / "local")
    assert result.report["full"] == local.report["full"]

    folds = json.loads((tmp_path / "cluster" / "report.json").read_text())["folds"]
    assert set(folds) == {"synthetic/s00", "synthetic/s01", "synthetic/s02"}
    finished_on = {name: got["node"]["id"] for name, got in folds.items()}
    assert victim in workers and victim not in finished_on.values()
    assert set(finished_on.values()) | {victim} == workers  # every worker node ran a fold
    (reason,) = folds["synthetic/s01"]["retried"]
    assert reason.startswith(f"NodeDiedError: its node died (node {victim}")
    assert [name for name, got in folds.items() if "retried" in got] == ["synthetic/s01"]
    printed = capsys.readouterr().out
    assert f"fold synthetic/s01 was retried (1 failed try: NodeDiedError: its node died (node {victim}" in printed
    assert "Fold synthetic/s01 was retried: NodeDiedError" in result.markdown
    assert "Folds ran on 2 node(s)" in result.markdown


ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # this environment's ray and mezoo commands


def walk_through():
    """The commands of the cluster walk-through (docs/cluster.md), comments left out."""
    text = (ROOT / "docs" / "cluster.md").read_text()
    block = text.split("**A cluster of your own machines**", 1)[1].split("\n\n")[1]
    return [line.strip() for line in block.splitlines() if line.startswith("    ") and not line.strip().startswith("#")]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what, seconds=180, every=0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_cluster_walk_through_runs_as_written(tiny_config, tmp_path):
    """Steps 1-3 of "A cluster of your own machines" on this machine: a head with no CPUs, two worker
    nodes started with `ray start --address`, `mezoo run` against the head with the shared token;
    both workers train folds. Without the token, mezoo says so in one line."""
    lines = walk_through()
    head = next(line for line in lines if line.startswith("ray start --head"))
    worker = next(line for line in lines if line.startswith("ray start --address"))
    run = next(line for line in lines if line.startswith("mezoo run"))
    export = next(line for line in lines if line.startswith("export "))
    assert head == "ray start --head --port=6379 --num-cpus=0" and worker == "ray start --address=HEAD:6379"
    assert export == "export RAY_AUTH_MODE=token RAY_AUTH_TOKEN=<the token>" and "ray stop" in lines

    port = str(_free_port())
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "RAY_raylet_start_wait_time_s": "120"}  # (Ray's 30 s is short for a raylet on 2 busy cores)

    def command(line):
        words = shlex.split(line.replace("HEAD", "127.0.0.1").replace("6379", port))
        return [str(BIN / words[0])] + words[1:]

    started = []
    try:
        started.append(subprocess.Popen(command(head) + ["--block", "--include-dashboard=false",
                                                         "--disable-usage-stats"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait(lambda: socket.socket().connect_ex(("127.0.0.1", int(port))) == 0, "the head node")

        def cpus(n):
            def check():
                status = subprocess.run([str(BIN / "ray"), "status", "--address", f"127.0.0.1:{port}"], env=env,
                                        capture_output=True, text=True, timeout=60)
                return f"/{n:.1f} CPU" in status.stdout
            return check

        for k in range(2):  # one after the other: two raylets starting at once on 2 busy cores may time out
            log = (tmp_path / f"worker-{k}.log").open("w")
            started.append(subprocess.Popen(command(worker) + ["--num-cpus=1", "--block", "--disable-usage-stats"],
                                            env=env, stdout=log, stderr=subprocess.STDOUT))
            try:
                _wait(cpus(k + 1), f"worker node {k + 1} of one CPU", every=2)
            except AssertionError:
                print((tmp_path / f"worker-{k}.log").read_text()[-3000:])
                raise

        config = tmp_path / "tiny.yaml"
        config.write_text(tiny_config(train={"epochs": 1}).dump())
        mezoo = command(run.split(" --dataset")[0]) + ["--config", str(config), "--quiet"]
        done = subprocess.run(mezoo + ["--out", str(tmp_path / "run")], env=env, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        folds = json.loads((tmp_path / "run" / "report.json").read_text())["folds"]
        assert len(folds) == 3 and len({got["node"]["id"] for got in folds.values()}) == 2

        no_token = {k: v for k, v in env.items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
        refused = subprocess.run(mezoo + ["--out", str(tmp_path / "refused")], env=no_token, capture_output=True,
                                 text=True, timeout=300, cwd=tmp_path)
        assert refused.returncode != 0
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith("Error: cannot start or reach the Ray cluster") and "RAY_AUTH_MODE=token" in last
        assert "Traceback" not in refused.stderr
    finally:
        for process in reversed(started):  # the workers, then the head
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
