"""How fast the commands that list and count start: a fresh ``mezoo`` process each round.

Target: ``mezoo --help``, ``mezoo plugins``, ``mezoo datasets list`` and ``mezoo datasets
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


def test_predict_cold_start(benchmark, tmp_path):
    """A cold ``mezoo predict`` of an image pair, as the time it takes beyond ``python -c "import torch"``.

    Target: at most 2.5 s more than importing torch on the same machine. Each round runs both
    processes one after the other (interleaved, so a busy machine slows both alike); the benchmark's
    own figure is the pair, the difference is in ``extra_info`` and is what is checked. The model
    is the default one (Farneback + Fu-B-Attn, untrained: weights do not change the time), the
    frames two 640 x 480 JPEGs of a real face, found and calibrated by dlib as any new frame is.
    """
    import statistics
    import time

    import cv2
    import numpy as np

    from mezoo.inference.modeldir import write_model_dir
    from mezoo.model import build_model
    from mezoo.settings import load_settings

    skimage = pytest.importorskip("skimage.data")
    settings = load_settings(overrides={"displacement": {"name": "farneback"}, "run": {"device": "cpu"}})
    classes = ("negative", "positive", "surprise")
    model_dir = write_model_dir(tmp_path / "model", settings, build_model(settings, len(classes)), classes, {}, 0.0)
    photo = cv2.resize(cv2.cvtColor(skimage.astronaut()[0:270, 42:402], cv2.COLOR_RGB2BGR), (640, 480),
                       interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "onset.jpg"), photo)
    cv2.imwrite(str(tmp_path / "apex.jpg"), cv2.warpAffine(photo, np.float32([[1, 0, 1], [0, 1, 0]]), (640, 480)))
    predict = _mezoo() + ["predict", "--model", str(model_dir), str(tmp_path / "onset.jpg"), str(tmp_path / "apex.jpg")]
    torch_only = [sys.executable, "-c", "import torch"]
    differences: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        subprocess.run(torch_only, check=True, capture_output=True, timeout=120)
        middle = time.perf_counter()
        subprocess.run(predict, check=True, capture_output=True, timeout=120)
        differences.append((time.perf_counter() - middle) - (middle - start))

    benchmark.group = "cli start"
    benchmark.pedantic(run, warmup_rounds=1, rounds=5, iterations=1)
    beyond = statistics.median(differences[1:])  # the warm-up round is not counted
    benchmark.extra_info.update(beyond_import_torch_s=round(beyond, 3))
    assert beyond <= 2.5, f"a cold mezoo predict took {beyond:.2f} s more than importing torch (target 2.5 s)"
