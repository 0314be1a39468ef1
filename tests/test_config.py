"""Settings: defaults, file, --set parsing, option errors, fingerprints."""

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


def test_resolve_order_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 7\n  lr: 0.1\n")
    cfg = config.resolve(path, {"train": {"lr": 0.2}}, dataset_defaults={"train": {"epochs": 3, "batch_size": 4}})
    assert cfg["train"]["epochs"] == 7  # the file beats the dataset's defaults
    assert cfg["train"]["lr"] == 0.2  # --set beats the file
    assert cfg["train"]["batch_size"] == 4  # the dataset's defaults beat the packaged ones


def test_bad_config_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml is not valid YAML"):
        config.load_file(path)
    with pytest.raises(ConfigError, match="does not exist"):
        config.load_file(tmp_path / "missing.yaml")


def test_unknown_option_lists_valid_ones():
    def factory(alpha=1, beta=2):
        return alpha + beta

    assert config.call_with_options(factory, "thing 'f'", {"alpha": 3}) == 5
    with pytest.raises(ConfigError, match=r"thing 'f' has no option 'gamma'; valid options: alpha, beta"):
        config.call_with_options(factory, "thing 'f'", {"gamma": 3})


def test_fingerprint_ignores_run_section_only():
    cfg = config.defaults()
    other = config.merge(cfg, {"run": {"device": "cuda", "out": "/x"}})
    assert config.fingerprint(cfg) == config.fingerprint(other)
    assert config.fingerprint(cfg) != config.fingerprint(config.merge(cfg, {"seed": 1}))
