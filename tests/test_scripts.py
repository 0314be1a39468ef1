"""The scripts in scripts/ still find what they import from mezoo (they are not in the package, so
nothing else would notice a name that moved). Read, not run: some download or train for minutes."""

import ast
import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parent.parent / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_mezoo_name_a_script_imports_exists(script):
    missing = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mezoo"):
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{a.name}" for a in node.names
                        if not hasattr(module, a.name) and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mezoo"):
                    importlib.import_module(alias.name)
    assert not missing, f"{script.name} imports names mezoo no longer has: {', '.join(missing)}"


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPTS[0].parent / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wheel(folder, name, version, module_text):
    """A minimal pure-Python wheel of distribution ``name`` with one module of the same name."""
    import zipfile

    dist = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.py", module_text)
        archive.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                             f"Requires-Dist: torch\nRequires-Dist: rich ; extra == 'cli'\n")
        archive.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{dist}/RECORD", "")
    return path


def test_the_gpu_check_installs_only_the_wheels_that_are_missing(tmp_path, monkeypatch):
    gpu_check = _gpu_check()
    wheels = tmp_path / "whl"
    wheels.mkdir()
    probe = _wheel(wheels, "mezoo_probe_dist", "1.0", "VALUE = 42\n")
    _wheel(wheels, "pluggy", "0.0.1", "raise ImportError('the installed pluggy must be used')\n")
    assert gpu_check.wheel_requirements(probe) == ["torch"]  # an extra's requirement is not followed
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    monkeypatch.setenv("PYTHONPATH", "")
    added, there = gpu_check.install_missing(wheels, tmp_path / "site")
    assert added == ["mezoo-probe-dist"] and there == ["pluggy"]
    assert (tmp_path / "site" / "mezoo_probe_dist.py").is_file() and not (tmp_path / "site" / "pluggy.py").exists()
    assert importlib.import_module("mezoo_probe_dist").VALUE == 42


def test_the_gpu_check_runs_its_steps_on_the_cpu(tmp_path):
    """`scripts/gpu_check.py run` on the CPU (CI has no GPU): the tiny LOSO, the predictor on a pair,
    a benchmark case; and on a machine without CUDA, `--device cuda` is refused in one line."""
    import json
    import subprocess
    import sys

    script = str(SCRIPTS[0].parent / "gpu_check.py")
    done = subprocess.run([sys.executable, script, "run", "--device", "cpu", "--wheels", str(tmp_path / "none"),
                           "--site", str(tmp_path / "site"), "--cases", "fusion-fu_*-b1", "--min-time", "0.02",
                           "--landmarks", "known", "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tiny LOSO on cpu (DGM trained along, 3 folds): UF1" in done.stdout
    assert "predictor (3 fold models, weights on cpu; faces by the clip's known landmarks)" in done.stdout
    assert "| fusion-fu_b_attn-b1 | cpu | fp32 |" in done.stdout and "Fu-B / Fu-A whole fusion, b1, cpu fp32" in done.stdout
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert {t["case"] for t in report["timings"]} == {"fusion-fu_b_attn-b1", "fusion-fu_a_attn-b1"}
    assert report["loso"]["n"] == 18
    import torch

    if not torch.cuda.is_available():
        refused = subprocess.run([sys.executable, script, "run", "--wheels", str(tmp_path / "none"), "--out",
                                  str(tmp_path / "cuda")], capture_output=True, text=True, timeout=300)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert refused.stderr.strip().startswith("error: --device cuda, but torch")


def _ray_cost():
    import sys

    spec = importlib.util.spec_from_file_location("ray_cost", SCRIPTS[0].parent / "ray_cost.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ray_cost"] = module  # (its dataclass looks its module up)
    spec.loader.exec_module(module)
    return module


def test_ray_cost_times_each_mode_on_the_same_folds(tiny_config, tmp_path, capsys):
    """The cost model in docs/cluster.md comes from this script: a row per mode, each with the run's folds,
    the waves the model predicts and the start / prepare / folds pieces adding up to the total."""
    pytest.importorskip("ray")
    config = tmp_path / "tiny.yaml"
    config.write_text(tiny_config(train={"epochs": 1}).dump())
    assert _ray_cost().main(["--modes", "in_process,local,cluster", "--cpus", "2", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| mode | at once | start s | prepare s | folds s |") and len(lines) == 5
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}
    assert set(rows) == {"in_process", "local", "cluster"}
    assert rows["in_process"][1] == "1" and rows["local"][1] == "2" and rows["cluster"][1] == "2"
    assert rows["in_process"][6] == "3" and rows["local"][6] == "2"  # 3 folds: 3 waves of one, 2 of two
    for cells in rows.values():
        assert cells[5].startswith("3 x ")
        start, prepare, folds, total = (float(cells[k]) for k in (2, 3, 4, 8))
        assert abs(start + prepare + folds - total) <= 0.15 and folds > 0 and float(cells[9]) > 0


def test_ray_cost_refuses_an_unknown_mode(capsys):
    with pytest.raises(SystemExit):
        _ray_cost().main(["--modes", "in_process,slurm"])
    assert "--modes 'in_process,slurm': give some of in_process, local, cluster" in capsys.readouterr().err
