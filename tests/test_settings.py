"""Typed settings: one load_settings for every caller; unknown keys, types and ranges checked once."""

import math
import re
from pathlib import Path

import pytest

from mezoo.config import defaults
from mezoo.errors import ConfigError, UnknownComponentError
from mezoo.settings import Settings, load_settings, reference

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_layers_packaged_component_dataset_file_then_overrides(tmp_path, monkeypatch):
    from mezoo.data.synthetic import SyntheticDataset
    from mezoo.fusion.transformer_fusion import FuBAttn

    monkeypatch.setattr(FuBAttn, "config_defaults", {"train": {"epochs": 99, "batch_size": 4, "weight_decay": 0.1}})
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 7\n  lr: 0.1\n")
    settings = load_settings(path, {"train": {"lr": 0.2}})
    assert settings.train.epochs == 7  # the file beats the dataset's defaults
    assert settings.train.lr == 0.2  # overrides beat the file
    assert settings.train.batch_size == 4  # the head's defaults beat the packaged ones
    assert settings.train.weight_decay == 0.1
    assert SyntheticDataset.config_defaults["train"]["epochs"] == 10
    assert load_settings(overrides={"train": {"lr": 0.2}}).train.epochs == 10  # the dataset's beat the head's


def test_the_paper_settings_are_the_defaults():
    settings = load_settings(overrides={"dataset": {"name": "casme2"}})
    assert settings.fusion.chosen()["embed_dim"] == 256 and settings.fusion.chosen()["patch_size"] == 18
    assert (settings.regions.size, settings.train.batch_size, settings.train.epochs) == (90, 32, 40)


@pytest.mark.parametrize("overrides, message", [
    ({"train": {"epoch": 5}}, r"unknown setting train\.epoch \(did you mean 'epochs'\?\); valid keys here: epochs, "
                              r"batch_size, lr, weight_decay, class_weight, apex_jitter, augment, augmentations"),
    ({"trian": {"epochs": 5}}, r"unknown setting trian \(did you mean 'train'\?\)"),
    ({"face": {"sise": 5}}, r"unknown setting face\.sise \(did you mean 'size'\?\)"),
    ({"face": {"margin": 0.02}}, r"unknown setting face\.margin; face\.margin was replaced by face\.span .*train it "
                                 r"again\); valid keys here: size, color, span"),
    ({"train": {"augment": {"flip": 0.5}}}, r"unknown setting train\.augment\.flip \(did you mean 'hflip'\?\)"),
    ({"dataset": {"casme": {}}}, r"unknown setting dataset\.casme .*registered dataset name; valid keys here: name, "
                                 r"root, casme2"),
    ({"fusion": {"fu_b_attn": {"embed_dims": 3}}}, r"fusion 'fu_b_attn' has no option 'embed_dims'; valid options: "
                                                   r"dropout, embed_dim"),
    ({"fusion": {"fu_b_attn": {"in_channels": 3}}}, r"fusion 'fu_b_attn' has no option 'in_channels'"),
])
def test_unknown_keys_list_the_valid_ones(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(overrides=overrides)


@pytest.mark.parametrize("key, value, must", [
    ("train.epochs", "abc", "a whole number, at least 1"), ("train.epochs", 0, "at least 1"),
    ("train.epochs", -1, "at least 1"), ("train.epochs", 2.5, "a whole number"),
    ("train.epochs", True, "a whole number"), ("train.batch_size", 0, "at least 1"),
    ("train.lr", math.inf, "finite and above 0"), ("train.lr", math.nan, "finite"), ("train.lr", "inf", "finite"),
    ("train.lr", 0, "above 0"), ("train.lr", "fast", "a number"), ("train.weight_decay", -1.0, "at least 0"),
    ("seed", "abc", "a whole number"), ("regions.kind", "au8", "one of: au9, grid3x3"),
    ("regions.size", 0, "at least 1"), ("face.size", 32, "at least 64"), ("face.color", "maybe", "true or false"),
    ("train.class_weight", "equal", "one of: balanced, none"), ("train.augment.hflip", 2, "between 0 and 1"),
    ("sequence.length", 1, "at least 2"), ("train.apex_jitter", -1, "at least 0"),
])
def test_bad_values_name_the_setting_and_what_it_must_be(key, value, must):
    section, _, name = key.rpartition(".")
    overrides = {name: value}
    for part in reversed(section.split(".") if section else []):
        overrides = {part: overrides}
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)} is .*; it must be .*{re.escape(must)}"):
        load_settings(overrides=overrides)


def test_values_are_converted_once():
    settings = load_settings(overrides={"train": {"lr": "1e-1", "epochs": "5", "batch_size": 4.0},
                                        "face": {"color": "false"}, "regions": {"kind": "AU9"}, "seed": "3"})
    assert settings.train.lr == 0.1 and isinstance(settings.train.lr, float)  # YAML reads 1e-1 as text
    assert settings.train.epochs == 5 and settings.train.batch_size == 4 and isinstance(settings.train.batch_size, int)
    assert settings.face.color is False and settings.regions.kind == "au9" and settings.seed == 3
    assert load_settings(overrides={"train": {"augmentations": "motion_magnification"}}).train.augmentations == (
        "motion_magnification",)


def test_unknown_components_fail_at_load():
    with pytest.raises(UnknownComponentError, match="unknown fusion 'fu_c'"):
        load_settings(overrides={"fusion": {"name": "fu_c"}})
    with pytest.raises(UnknownComponentError, match="unknown augmentation 'nosuch'"):
        load_settings(overrides={"train": {"augmentations": ["nosuch"]}})
    with pytest.raises(UnknownComponentError, match="unknown interpolator 'cubic'"):
        load_settings(overrides={"sequence": {"interpolator": "cubic"}})


def test_settings_are_frozen_and_round_trip_through_config_yaml(tmp_path):
    settings = load_settings(overrides={"train": {"epochs": 3}})
    with pytest.raises(AttributeError):
        settings.train.epochs = 4  # type: ignore[misc]
    path = tmp_path / "config.yaml"
    path.write_text(settings.dump())
    again = load_settings(path)
    assert again == settings and again.fingerprint == settings.fingerprint


def test_fingerprint_ignores_the_run_section_only():
    base = load_settings()
    assert base.fingerprint == load_settings(overrides={"run": {"device": "cuda", "out": "/x"}}).fingerprint
    assert base.fingerprint != load_settings(overrides={"seed": 1}).fingerprint
    assert base.fingerprint == load_settings(overrides={"train": {"lr": "5e-4"}}).fingerprint  # same value


def test_changed_resolves_the_new_components_defaults(monkeypatch):
    from mezoo.fusion.transformer_fusion import FuAAttn

    monkeypatch.setattr(FuAAttn, "config_defaults", {"train": {"weight_decay": 0.3}})
    base = load_settings(overrides={"train": {"lr": 0.001}})
    swapped = base.changed({"fusion": {"name": "fu_a_attn"}})
    assert swapped.train.weight_decay == 0.3 and swapped.train.lr == 0.001
    assert base.train.weight_decay == 0.0 and isinstance(swapped, Settings)


def test_dataset_only_commands_skip_the_component_checks():
    settings = load_settings(overrides={"fusion": {"fu_b_attn": {"embed_dims": 3}}}, components=False)
    assert settings.dataset.name == "synthetic"


def test_python_callers_get_component_defaults_too(tmp_path, monkeypatch):
    """run_loso given a plain mapping resolves it with load_settings, so the dataset's defaults apply."""
    from mezoo.loso import runner

    seen = {}

    class Stop(Exception):
        pass

    def spy(path, settings):
        seen["settings"] = settings
        raise Stop  # before any work

    monkeypatch.setattr(runner, "RunDir", spy)
    with pytest.raises(Stop):
        runner.run_loso({"train": {"lr": 0.001}}, tmp_path, progress=False)
    assert seen["settings"].train.epochs == 10  # the synthetic dataset's defaults
    assert seen["settings"].displacement.chosen() == {}


def test_the_settings_reference_page_is_the_generated_one():
    text = REFERENCE.read_text(encoding="utf-8")
    begin, end = "<!-- settings reference: begin -->\n", "<!-- settings reference: end -->"
    assert begin in text and end in text, "docs/settings.md lacks the settings reference markers"
    shown = text.split(begin, 1)[1].split(end, 1)[0]
    assert shown == reference(), "docs/settings.md is stale: paste mezoo.settings.reference() between the markers"


def test_reference_covers_every_core_setting():
    table = reference()
    packaged = defaults()

    def leaves(d, prefix=""):
        for k, v in d.items():
            if k in ("dataset", "displacement", "fusion", "augmentation") and not prefix:
                continue
            if isinstance(v, dict):
                yield from leaves(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"

    for key in leaves(packaged):
        assert f"| `{key}` |" in table, key
    for kind in ("dataset", "displacement", "fusion", "augmentation"):
        assert f"| `{kind}.<component>.<option>` |" in table
