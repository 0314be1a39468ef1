"""How fast the commands that list and count start: a fresh ``mezoo`` process each round.

Target (issue 17): ``mezoo --help``, ``mezoo plugins``, ``mezoo datasets list`` and ``mezoo datasets
info`` (CASME II's spreadsheet, a generated tree) in under 1 s on 2 CPU cores. They import no model
code (tests/test_cli_start.py checks that); this measures the whole process.
"""

import shutil
import subprocess
import sys

import pytest

from tests.data.native_trees import casme2_tree


def _mezoo() -> list[str]:
    found = shutil.which("mezoo")
    return [found] if found else [sys.executable, "-c", "from mezoo.cli import cli; cli()"]


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["datasets", "list"], ["datasets", "info"]],
                         ids=["help", "plugins", "datasets-list", "datasets-info-casme2"])
def test_cli_start(benchmark, args, tmp_path):
    if args == ["datasets", "info"]:
        casme2_tree(tmp_path / "casme2")
        args = args + ["--dataset", "casme2", "--data-root", str(tmp_path / "casme2")]
    command = _mezoo() + args
    benchmark.group = "cli start"

    def run() -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    benchmark.pedantic(run, warmup_rounds=1, rounds=5, iterations=1)
    assert benchmark.stats.stats.median < 1.0, f"mezoo {' '.join(args)} took {benchmark.stats.stats.median:.2f} s"
