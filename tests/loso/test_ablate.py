"""The ablation rows of Table 2 and `mezoo ablate`."""

import json

import pytest
import yaml
from click.testing import CliRunner

from mezoo.cli import cli
from mezoo.errors import ConfigError
from mezoo.loso.ablate import ROWS, parse_rows, row_config
from mezoo.settings import load_settings


def test_each_row_changes_one_thing():
    base = load_settings(overrides={"fusion": {"fu_b_attn": {"embed_dim": 64}}})
    full = row_config(base, "M9")
    assert (full.displacement.name, full.fusion.name, full.regions.kind) == ("dgm", "fu_b_attn", "au9")
    assert row_config(base, "M0").displacement.name == "farneback"
    assert row_config(base, "M0-TVL1").displacement.name == "tvl1"
    assert row_config(base, "M1").displacement.name == "of_norm"
    assert row_config(base, "M2").displacement.name == "dynamic_image"
    assert row_config(base, "M3").displacement.chosen()["self_supervised"] is False
    assert row_config(base, "M3").displacement.chosen()["weights"] is None  # no pre-training either
    m4 = row_config(base, "M4")
    assert m4.fusion.name == "fu_a_attn" and m4.fusion.chosen()["embed_dim"] == 64
    assert row_config(base, "M5").regions.kind == "grid3x3"
    assert row_config(base, "M6").fusion.chosen()["use_full_face"] is False
    assert row_config(base, "M7").fusion.chosen()["use_local"] is False
    assert row_config(base, "M8").fusion.chosen()["use_global"] is False
    assert list(ROWS) == ["M0", "M0-TVL1"] + [f"M{i}" for i in range(1, 10)]


def test_a_rows_component_brings_its_own_defaults(monkeypatch):
    """Row M0 swaps the DGM for optical flow: the flow provider's config_defaults apply in that row
    (as on the command line), below what the user set."""
    from mezoo.displacement.farneback import Farneback

    monkeypatch.setattr(Farneback, "config_defaults", {"train": {"epochs": 3, "lr": 0.01}}, raising=False)
    base = load_settings(overrides={"train": {"lr": 0.002}})
    assert base.train.epochs == 10 and base.displacement.name == "farneback"  # the synthetic set's 10
    m0, m9 = row_config(base, "M0"), row_config(base, "M9")
    assert (m0.train.epochs, m0.train.lr) == (10, 0.002)  # the dataset's defaults and the user's value win
    monkeypatch.setattr(Farneback, "config_defaults", {"train": {"weight_decay": 0.5}})
    assert row_config(base, "M0").train.weight_decay == 0.5 and m9.train.weight_decay == 0.0


def test_parse_rows():
    assert parse_rows(None) == list(ROWS)
    assert parse_rows("m0, M4,M9") == ["M0", "M4", "M9"]
    with pytest.raises(ConfigError, match="unknown ablation row M12"):
        parse_rows("M0,M12")


def test_ablate_command_writes_table_2(tiny_config, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config(train={"epochs": 1}).dump())
    out = tmp_path / "ablate"
    result = CliRunner().invoke(cli, ["ablate", "--rows", "M0,M5", "--config", str(path), "--out", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| Method | DGM | AU Regions | Full-face Fusion | Global Fusion | Local Fusion | Fu-B-Attn |" in result.output
    assert "| M0 | -> OpticalFlow | yes |" in result.output
    assert "| Full UF1 | Full UAR | Fold time (s) |" in result.output
    assert "| M5 | yes | -> 3x3 patches |" in result.output
    saved = json.loads((out / "ablation.json").read_text())
    assert set(saved) == {"M0", "M5"} and saved["M0"]["full"]["n"] == 18
    assert (out / "ablation.md").read_text().startswith("# mezoo ablation on synthetic")
    assert yaml.safe_load((out / "M5" / "config.yaml").read_text())["regions"]["kind"] == "grid3x3"


def test_m3_trains_without_nan(tiny_config, tmp_path):
    """Row M3 (DGM, no self-supervision) starts from an all-zero displacement: one fold trains."""
    from mezoo.loso.ablate import row_config
    from mezoo.loso.runner import run_loso

    config = row_config(tiny_config(displacement={"dgm": {"width": 4, "levels": 2}}, train={"epochs": 1}), "M3")
    result = run_loso(config, tmp_path / "m3", progress=False)
    assert result.report["full"]["n"] == 18
