"""Classical baselines through the LOSO runner (run directory, report, resume, seeds), their settings
(fingerprints of the deep model's runs unchanged), what they refuse in one line, and `mezoo zoo`."""

import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.errors import ConfigError, PluginError, UnknownComponentError
from mezoo.loso.runner import run_loso
from mezoo.settings import load_settings
from tests.conftest import registered


@pytest.mark.parametrize("features, inputs", [("lbp_top", "features (clip)"), ("bi_woof", "features (onset, apex)")])
def test_a_classical_loso_run_resumes(tiny_config, tmp_path, features, inputs):
    settings = tiny_config(features={"name": features})
    first = run_loso(settings, tmp_path, progress=False)
    report = first.report
    assert report["full"]["n"] == 18 and 0.0 <= report["full"]["uf1"] <= 1.0
    assert report["run"]["features"] == features and report["run"]["classifier"] == "linear_svm"
    assert report["run"]["inputs"] == inputs and len(first.trained) == 3
    assert f"| {settings.title} |" in first.markdown
    assert settings.title == ("lbp_top + linear_svm" if features == "lbp_top" else "bi_woof (farneback) + linear_svm")
    folds = [json.loads(p.read_text()) for p in sorted((tmp_path / "folds").glob("*.json"))]
    assert len(folds) == 3 and all(np.allclose(np.sum(f["probs"], axis=1), 1.0, atol=1e-5) for f in folds)
    again = run_loso(settings, tmp_path, progress=False)
    assert again.trained == [] and len(again.skipped) == 3 and again.report["full"] == report["full"]


def test_seeds_and_the_default_run_directory(tiny_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config().dump())
    result = CliRunner().invoke(cli, ["run", "--features", "bi_woof", "--config", str(path), "--seeds", "0,1",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    settings = load_settings(path, {"features": {"name": "bi_woof"}})
    run_dir = tmp_path / "runs" / f"synthetic-bi_woof-linear_svm-{settings.fingerprint}"
    assert (run_dir / "seed-0" / "report.json").exists() and (run_dir / "seed-1" / "report.json").exists()
    assert "bi_woof (farneback) + linear_svm" in result.output


def test_deep_runs_keep_their_fingerprint():
    deep = load_settings()
    before = {k: v for k, v in deep.as_dict().items() if k not in ("features", "classifier")}  # a config.yaml
    assert load_settings(overrides=before).fingerprint == deep.fingerprint  # made before the sections existed
    assert load_settings(overrides={"classifier": {"linear_svm": {"C": 2}}}).fingerprint == deep.fingerprint
    svm = load_settings(overrides={"features": {"name": "lbp_top"}})
    assert svm.fingerprint != deep.fingerprint
    assert load_settings(overrides={"features": {"name": "lbp_top"}, "classifier": {"linear_svm": {"C": 2}}}
                         ).fingerprint != svm.fingerprint


@pytest.mark.parametrize("overrides, error, message", [
    ({"features": {"name": "lbp_top"}, "protocol": {"select": {"epochs": [1, 2]}}}, ConfigError,
     "protocol.select chooses train settings of a network inside each fold; the classical model features 'lbp_top'"),
    ({"features": {"name": "bi_woof"}, "train": {"augment": {"hflip": 0.5}}}, ConfigError,
     "train.augment and train.augmentations change a network's training batches"),
    ({"features": {"name": "lbp_top", "lbp_top": {"blocks": 0}}}, ConfigError, "features.lbp_top.blocks is 0"),
    ({"features": {"name": "lbp_top", "lbp_top": {"cells": 3}}}, ConfigError,
     "features 'lbp_top' has no option 'cells'"),
    ({"features": {"name": "lbptop"}}, UnknownComponentError, "lbptop"),
    ({"features": {"name": "lbp_top"}, "classifier": {"name": "svm"}}, UnknownComponentError, "linear_svm"),
    ({"features": {"hog": {}}}, ConfigError, "unknown setting features.hog"),
])
def test_what_a_classical_model_refuses_is_one_line(tiny_config, tmp_path, overrides, error, message):
    with pytest.raises(error, match=message):
        tiny_config(**overrides).fingerprint and run_loso(tiny_config(**overrides), tmp_path, progress=False)


def test_bi_woof_with_a_trainable_provider_is_refused(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="features 'bi_woof' read the displacement of a fixed provider"):
        run_loso(tiny_config(features={"name": "bi_woof"}, displacement={"name": "dgm"}), tmp_path, progress=False)


def test_train_refuses_a_classical_model(tiny_config, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config(features={"name": "lbp_top"}).dump())
    result = CliRunner().invoke(cli, ["train", "--config", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "the classical baseline features 'lbp_top' + classifier 'linear_svm' is evaluated by" in result.output
    assert "Traceback" not in result.output


def test_zoo_runs_every_chosen_model_and_resumes(tiny_config, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config(train={"epochs": 1}).dump())
    out = tmp_path / "zoo"
    args = ["zoo", "--models", "lbp_top,bi_woof,off_apexnet", "--config", str(path), "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for line in ("| LBP-TOP + SVM | Zhao & Pietikainen, TPAMI 2007 |", "| Bi-WOOF + SVM |", "| Off-ApexNet |"):
        assert line in result.output
    assert "0.588 / 0.579" in result.output and "0.720 / 0.710" in result.output
    table = (out / "zoo.md").read_text()
    assert table.count("\n| ") == 4  # the header and three models
    saved = json.loads((out / "zoo.json").read_text())
    assert list(saved) == ["lbp_top", "bi_woof", "off_apexnet"] and saved["lbp_top"]["published"]["uf1"] == 0.588
    for model in saved:
        assert len(list((out / model / "folds").glob("*.json"))) == 3
    assert yaml.safe_load((out / "off_apexnet" / "config.yaml").read_text())["features"]["name"] == "none"
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and again.output.split("| Model")[1] == result.output.split("| Model")[1]


def test_zoo_lists_models_and_names_a_bad_one():
    listed = CliRunner().invoke(cli, ["zoo", "--list"])
    assert listed.exit_code == 0
    for name in ("frl_dgt", "ststnet", "off_apexnet", "lbp_top", "bi_woof"):
        assert f"| {name} |" in listed.output
    bad = CliRunner().invoke(cli, ["zoo", "--models", "ststnet,stst"])
    assert bad.exit_code != 0 and "unknown zoo model stst; registered models: frl_dgt, ststnet" in bad.output


def test_a_plugin_model_must_be_a_zoo_model():
    from mezoo import hookimpl
    from mezoo.zoo import models

    class Broken:
        @hookimpl
        def register_models(self, register):
            register({"fusion": {"name": "ststnet"}}, name="dict_model")

    with registered(Broken(), "broken"):
        with pytest.raises(PluginError, match="model 'dict_model' of plugin 'broken' is a dict, not a mezoo.zoo.ZooModel"):
            models()


def test_inline_plugin_features_classifier_and_model(tiny_config, tmp_path):
    """A plugin's extractor (through register_features), classifier (register_classifiers) and zoo model
    (register_models) run through the same runner as the built-ins."""
    from mezoo import hookimpl
    from mezoo.classical import Classifier, FeatureExtractor
    from mezoo.loso.zoo import run_zoo
    from mezoo.zoo import ZooModel

    seen = {}

    class MeanMotion(FeatureExtractor):
        reads = "pair"

        def extract(self, frames, displacement, mask):
            seen["shapes"] = (frames.shape, displacement.shape)
            return np.abs(displacement).reshape(2, -1).mean(1)

    class Centroids(Classifier):
        def build(self, class_weight, seed):
            from sklearn.neighbors import NearestCentroid

            seen["class_weight"] = class_weight
            return NearestCentroid()

    class Plugin:
        @hookimpl
        def register_features(self, register):
            register(MeanMotion, name="mean_motion")

        @hookimpl
        def register_classifiers(self, register):
            register(Centroids, name="centroids")

        @hookimpl
        def register_models(self, register):
            register(ZooModel("Mean motion", {"features": {"name": "mean_motion"}, "classifier": {"name": "centroids"}}),
                     name="mean_motion")

    with registered(Plugin(), "inline-classical"):
        results = run_zoo(tiny_config(), ["mean_motion"], tmp_path, progress=False)
    report = results["mean_motion"].report
    assert report["full"]["n"] == 18 and report["run"]["classifier"] == "centroids"
    assert seen["shapes"] == ((2, 112, 112), (2, 112, 112)) and seen["class_weight"] == "balanced"
    folds = [json.loads(p.read_text()) for p in (tmp_path / "mean_motion" / "folds").glob("*.json")]
    assert all(np.allclose(np.sum(f["probs"], axis=1), 1.0) for f in folds)  # (NearestCentroid's predict_proba)


def test_features_are_cached_per_sample_and_a_bad_one_is_named(tiny_config, tmp_path):
    from mezoo import hookimpl
    from mezoo.classical import FeatureExtractor
    from mezoo.errors import DataError

    calls = []

    class Counting(FeatureExtractor):
        reads = "clip"

        def __init__(self, broken: str = ""):
            self.broken = broken

        def extract(self, frames, displacement, mask):
            calls.append(frames.shape)
            return np.full(3, np.nan if self.broken and len(calls) == 5 else frames.mean(), np.float32)

    class Plugin:
        @hookimpl
        def register_features(self, register):
            register(Counting, name="counting")

    with registered(Plugin(), "inline-counting"):
        run_loso(tiny_config(features={"name": "counting"}), tmp_path / "a", progress=False)
        assert len(calls) == 18 and calls[0] == (10, 112, 112)  # sequence.length frames of the face
        run_loso(tiny_config(features={"name": "counting"}, seed=1), tmp_path / "b", progress=False)
        assert len(calls) == 18  # another run of the same features: all read from the cache
        calls.clear()
        with pytest.raises(DataError, match="features 'counting' of sample synthetic/s\\d+/\\S+ are not finite"):
            run_loso(tiny_config(features={"name": "counting", "counting": {"broken": "yes"}}), tmp_path / "c",
                     progress=False)
        assert len(calls) == 5
        run_loso(tiny_config(features={"name": "counting", "counting": {"broken": "yes"}}), tmp_path / "c",
                 progress=False)  # the four before it were kept; the fifth is computed again (and is fine now)
        assert len(calls) == 5 + 14


def test_predict_refuses_a_classical_run_in_one_line(tiny_config, tmp_path):
    settings = tiny_config(features={"name": "bi_woof"})
    run_loso(settings, tmp_path / "run", progress=False)
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"")  # (the model is read first)
    result = CliRunner().invoke(cli, ["predict", "--model", str(tmp_path / "run"), str(tmp_path / "a.jpg"),
                                      str(tmp_path / "b.jpg")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "is of the classical baseline bi_woof (farneback) + linear_svm, which is evaluated, not deployed" in result.output
