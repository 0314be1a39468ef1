"""The YAML layer: packaged defaults, config files, --set parsing."""

import pytest

from mezoo import config
from mezoo.errors import ConfigError


def test_defaults_hold_the_papers_settings():
    cfg = config.defaults()
    fu_b = cfg["fusion"]["fu_b_attn"]
    assert (fu_b["embed_dim"], fu_b["num_heads"], fu_b["patch_size"]) == (256, 8, 18)
    assert cfg["regions"]["size"] == 90 and cfg["train"]["batch_size"] == 32


def test_parse_set_nests_and_parses_yaml_values():
    assert config.parse_set(["train.epochs=5", "face.color=false", "fusion.name=fu_a_attn", "x=[1, 2]"]) == {
        "train": {"epochs": 5}, "face": {"color": False}, "fusion": {"name": "fu_a_attn"}, "x": [1, 2],
    }


@pytest.mark.parametrize("bad", ["noequals", "=5"])
def test_parse_set_rejects_malformed(bad):
    with pytest.raises(ConfigError, match="key=value"):
        config.parse_set([bad])


def test_bad_config_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml is not valid YAML"):
        config.load_file(path)
    with pytest.raises(ConfigError, match="does not exist"):
        config.load_file(tmp_path / "missing.yaml")
    path.write_bytes(b"train:\n  epochs: \xff\xfe\n")
    with pytest.raises(ConfigError, match="bad.yaml is not UTF-8 text"):
        config.load_file(path)
    path.write_text("train:\n  epochs: 5\n   lr: 1\n")  # indentation error
    with pytest.raises(ConfigError) as error:
        config.load_file(path)
    assert "\n" not in str(error.value) and "line 3" in str(error.value)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping of settings at the top, not list"):
        config.load_file(path)
