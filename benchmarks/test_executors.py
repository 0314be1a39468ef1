"""A whole default LOSO run (the `synthetic` dataset, default settings, as `mezoo run`) on each
executor: in this process (`local`) and on a local Ray instance started and stopped by the run
(`ray`, one fold task per CPU, one torch thread each), wall time from settings to report.

Target, on 2 CPU cores: `ray` at most 20 % over `local`. Each round trains into a fresh
run directory; the face cache is filled by a first run outside the timing.

    pytest benchmarks/test_executors.py --benchmark-only --benchmark-columns=median,min,max,rounds
"""

from __future__ import annotations

import itertools

import pytest

from mezoo.loso.runner import run_loso
from mezoo.settings import load_settings

_counter = itertools.count()


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """One run first, so that every timed round reads the faces from the cache alike."""
    settings = load_settings(overrides={"run": {"device": "cpu"}, "train": {"epochs": 1}})
    run_loso(settings, tmp_path_factory.mktemp("warm"), progress=False)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_default_loso_run(benchmark, executor, warm_cache, tmp_path):
    if executor == "ray":
        pytest.importorskip("ray")
    settings = load_settings(overrides={"run": {"device": "cpu", "executor": executor}})

    def fresh_dir():
        return (settings, tmp_path / f"run-{next(_counter)}"), {"progress": False}

    benchmark.group = "LOSO default synthetic run"
    benchmark.extra_info.update(executor=executor, folds=8)
    result = benchmark.pedantic(run_loso, setup=fresh_dir, rounds=2, iterations=1)
    assert result.report["full"]["n"] == 96 and len(result.trained) == 8
