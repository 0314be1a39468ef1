"""The commands that list and count start at once: they import no torch, timm, kornia, OpenCV or dlib
(the timings are in benchmarks/test_cli.py)."""

import subprocess
import sys

import pytest

from tests.data.native_trees import casme2_tree

HEAVY = ("torch", "timm", "kornia", "cv2", "dlib")

PROBE = """
import sys
from mezoo.cli import cli
try:
    cli({args!r}, standalone_mode=False)
finally:
    loaded = [m for m in {heavy!r} if m in sys.modules]
    print("HEAVY:", ",".join(loaded), file=sys.stderr)
"""


def _heavy_imports(args: list[str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("HEAVY:")][-1]
    return [m for m in line.removeprefix("HEAVY:").strip().split(",") if m]


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["plugins", "--all"], ["datasets", "list"],
                                  ["run", "--help"]])
def test_listing_commands_import_no_model_code(args):
    assert _heavy_imports(args) == []


def test_datasets_info_reads_a_spreadsheet_without_model_code(tmp_path):
    casme2_tree(tmp_path / "casme2")
    assert _heavy_imports(["datasets", "info", "--dataset", "casme2", "--data-root", str(tmp_path / "casme2")]) == []


def test_a_component_is_imported_when_used():
    from mezoo import plugins

    dgm = plugins.get("displacement", "dgm")
    assert dgm.__name__ == "DGM" and dgm.__module__ == "mezoo.displacement.dgm"
