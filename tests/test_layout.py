"""Where mezoo writes: default names said once, and the run-directory layout the runner writes and
the model loader reads."""

from pathlib import Path

from mezoo import layout
from mezoo.settings import load_settings


def test_default_names_follow_the_settings():
    settings = load_settings(overrides={"displacement": {"name": "farneback"}})
    name = f"synthetic-farneback-fu_b_attn-{settings.fingerprint}"
    assert layout.default_name(settings) == name
    assert layout.default_run_dir(settings) == Path("runs") / name
    assert layout.default_model_dir(settings) == Path("models") / name
    assert layout.default_ablation_dir(settings) == Path("runs") / f"ablate-synthetic-{settings.fingerprint}"
    assert layout.default_run_dir(settings.changed({"run": {"out": "elsewhere"}})) == Path("elsewhere")
    # the help texts say the same as the functions do
    assert layout.DEFAULT_RUN_DIR.replace("<dataset>-<displacement>-<fusion>-<fingerprint>", name) == f"runs/{name}"


def test_the_runner_writes_where_the_layout_says(tiny_config, tmp_path):
    from mezoo.inference.modeldir import read_model_dir
    from mezoo.loso.runner import run_loso

    result = run_loso(tiny_config(train={"epochs": 1}, run={"checkpoints": True}), tmp_path / "run", progress=False)
    run = layout.RunLayout(result.run_dir)
    assert run.config.is_file() and run.report.is_file()
    slugs = sorted(p.stem for p in run.folds.glob("*.json"))
    assert slugs == ["synthetic__s00", "synthetic__s01", "synthetic__s02"]
    assert all(run.checkpoint(s).is_file() and run.fold_file(s).is_file() for s in slugs)
    assert read_model_dir(result.run_dir).members == slugs  # the loader reads the same layout
