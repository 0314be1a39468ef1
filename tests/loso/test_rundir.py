"""The run directory: fingerprints per fold, damaged files, concurrent runs, filesystem errors."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mezoo.errors import ConfigError, DataError, StorageError
from mezoo.engine import inputs
from mezoo.loso import runner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def finished(tiny_config, tmp_path):
    """A finished tiny run: its settings and directory."""
    settings = tiny_config(train={"epochs": 1})
    runner.run_loso(settings, tmp_path / "run", progress=False)
    return settings, tmp_path / "run"


def _one_line(error):
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_fold_files_record_the_settings_fingerprint(finished):
    settings, run_dir = finished
    fold = json.loads((run_dir / "folds" / "synthetic__s00.json").read_text())
    assert fold["fingerprint"] == settings.fingerprint


def test_a_fold_from_other_settings_is_never_reused(finished, tiny_config):
    """config.yaml deleted, then a run with other settings: the old folds are refused, not mixed in."""
    _, run_dir = finished
    (run_dir / "config.yaml").unlink()
    with pytest.raises(StorageError, match=r"synthetic__s00.json was made with other settings") as error:
        runner.run_loso(tiny_config(train={"epochs": 1}, seed=5), run_dir, progress=False)
    assert "another --out" in _one_line(error)


@pytest.mark.parametrize("content", [b"seed: [0\n", b"\xff\xfe\x00garbage", b"train:\n  epoch: 3\n", b"- 1\n"])
def test_a_damaged_config_yaml_is_named(finished, tiny_config, content):
    settings, run_dir = finished
    (run_dir / "config.yaml").write_bytes(content)
    with pytest.raises(StorageError, match=rf"{run_dir / 'config.yaml'}.*finished fold.*restore it, or use another --out") as error:
        runner.run_loso(settings, run_dir, progress=False)
    _one_line(error)


@pytest.mark.parametrize("damage, reason", [
    (lambda text: text[: len(text) // 2], "is damaged"),
    (lambda text: "", "is damaged"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "probs"}), "it lacks probs"),
    (lambda text: json.dumps({**json.loads(text), "probs": json.loads(text)["probs"][:2]}),
     "do not match its 6 samples"),
    (lambda text: "[1, 2]", "it lacks subject"),
])
def test_a_damaged_fold_file_is_named(finished, damage, reason):
    settings, run_dir = finished
    path = run_dir / "folds" / "synthetic__s01.json"
    path.write_text(damage(path.read_text()))
    with pytest.raises(StorageError, match=rf"fold file {path} .*{reason}.*delete it to train that fold again") as error:
        runner.run_loso(settings, run_dir, progress=False)
    _one_line(error)
    path.unlink()  # what the message says to do
    assert runner.run_loso(settings, run_dir, progress=False).trained == ["synthetic/s01"]


def test_a_run_that_failed_before_its_first_fold_does_not_block_the_corrected_one(tiny_config, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise DataError("sample x: frame missing")

    monkeypatch.setattr(inputs, "read_frames", broken)
    with pytest.raises(DataError):
        runner.run_loso(tiny_config(train={"epochs": 1}, seed=3), tmp_path, progress=False)
    assert (tmp_path / "config.yaml").exists()
    monkeypatch.undo()
    result = runner.run_loso(tiny_config(train={"epochs": 1}), tmp_path, progress=False)
    assert len(result.trained) == 3


def test_bad_values_fail_before_the_run_directory_or_the_data(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "read_frames", lambda *a, **k: pytest.fail("the data was read"))
    with pytest.raises(ConfigError, match=r"embed_dim 250 is not a multiple of its num_heads 4"):
        runner.run_loso(tiny_config(fusion={"fu_b_attn": {"embed_dim": 250}}), tmp_path, progress=False)
    with pytest.raises(ConfigError, match=r"region_size 37 \(regions.size\) is not a multiple of .*patch_size 18"):
        runner.run_loso(tiny_config(regions={"size": 37}), tmp_path, progress=False)
    with pytest.raises(ConfigError, match=r"run.device 'cuda:abc' is not a device torch knows"):
        runner.run_loso(tiny_config(run={"device": "cuda:abc"}), tmp_path, progress=False)
    assert not (tmp_path / "config.yaml").exists()


def test_run_files_get_the_usual_permissions(tiny_config, tmp_path):
    old = os.umask(0o022)
    try:
        runner.run_loso(tiny_config(train={"epochs": 1}, run={"checkpoints": True}), tmp_path, progress=False)
    finally:
        os.umask(old)
    for name in ("config.yaml", "report.json", "predictions.csv", "confusion.png", "folds/synthetic__s00.json",
                 "checkpoints/synthetic__s00.safetensors"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_an_unwritable_run_directory_is_one_line(tiny_config, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match=rf"cannot write {blocker / 'run'}") as error:
        runner.run_loso(tiny_config(), blocker / "run" / "x", progress=False)
    _one_line(error)


def test_a_full_disk_while_saving_a_checkpoint_is_one_line_and_keeps_what_was_written(tmp_path):
    """A file-size limit (RLIMIT_FSIZE) stands in for a full disk: writes fail with an OSError."""
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        import torch
        from mezoo.errors import StorageError
        from mezoo.files import write_atomic
        from safetensors.torch import save_file
        out = Path({str(tmp_path)!r})
        write_atomic(out / "small.json", "{{}}")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        try:
            write_atomic(out / "fold.safetensors", lambda tmp: save_file({{"w": torch.zeros(10000)}}, str(tmp)))
        except StorageError as exc:
            print(exc)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"cannot write {tmp_path / 'fold.safetensors'}: ")
    assert "File too large" in result.stdout and len(result.stdout.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.json"]  # no half file, no temporary left


def test_a_wrong_shape_cache_entry_is_rebuilt(tmp_path):
    from mezoo.data.cache import DiskCache

    cache = DiskCache(tmp_path)
    cache.save("ab12", np.zeros((2, 8, 8), np.float16))
    assert cache.load("ab12", (2, 8, 8)).shape == (2, 8, 8)
    assert cache.load("ab12", (2, 16, 16)) is None  # another shape: removed, to be rebuilt
    assert not cache.path("ab12").exists()


def test_two_concurrent_runs_train_each_fold_once(tiny_config, tmp_path):
    """Two processes started on one run directory share the folds: each is trained once, both report."""
    config = tmp_path / "tiny.yaml"
    config.write_text(tiny_config(train={"epochs": 1}).dump())
    run_dir = tmp_path / "run"
    script = textwrap.dedent(f"""
        import json, time
        import torch
        torch.set_num_threads(1)
        from mezoo.loso import job, runner
        from mezoo.settings import load_settings
        real = job.run_fold
        def slow(*args, **kwargs):  # long enough for the other process to reach the same folds
            time.sleep(1.5)
            return real(*args, **kwargs)
        job.run_fold = slow
        result = runner.run_loso(load_settings({str(config)!r}), {str(run_dir)!r}, progress=False)
        print(json.dumps({{"trained": result.trained, "uf1": result.report["full"]["uf1"]}}))
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    trained = results[0]["trained"] + results[1]["trained"]
    assert sorted(trained) == ["synthetic/s00", "synthetic/s01", "synthetic/s02"]  # each once, none twice
    assert results[0]["uf1"] == results[1]["uf1"]
