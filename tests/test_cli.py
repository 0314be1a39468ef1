"""The command line end to end."""

import json

import yaml
from click.testing import CliRunner

from mezoo.cli import cli


def _config_file(tmp_path, cfg):
    path = tmp_path / "tiny.yaml"
    path.write_text(cfg.dump())
    return path


def test_run_prints_the_table_and_writes_the_run(tiny_config, tmp_path):
    path = _config_file(tmp_path, tiny_config())
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--displacement", "farneback", "--fusion", "fu_b_attn",
                                      "--config", str(path), "--set", "train.epochs=1", "--out", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| Method | Full UF1 | Full UAR |" in result.output
    assert "| farneback + fu_b_attn |" in result.output
    assert f"Run directory: {out}" in result.output
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 1 and saved["fusion"]["name"] == "fu_b_attn"
    again = CliRunner().invoke(cli, ["run", "--config", str(path), "--set", "train.epochs=1", "--out", str(out),
                                     "--quiet"])
    assert again.exit_code == 0 and "Resumed: 3 finished fold(s) reused, 0 trained." in again.output


def test_unknown_fusion_is_one_line_without_traceback():
    result = CliRunner().invoke(cli, ["run", "--fusion", "xyz"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unknown fusion 'xyz'; expected one of: ")
    expected = lines[0].split("expected one of: ")[1].split(", ")
    # the built-in heads, and those of installed plugins (mezoo-tim's fu_b_attn_s), sorted
    assert {"fu_a_attn", "fu_b_attn", "vit_grid"} <= set(expected) and expected == sorted(expected)
    assert "Traceback" not in result.output


def test_unknown_option_is_one_line(tiny_config, tmp_path):
    path = _config_file(tmp_path, tiny_config())
    result = CliRunner().invoke(cli, ["run", "--config", str(path), "--set", "fusion.fu_b_attn.depthh=2",
                                      "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: fusion 'fu_b_attn' has no option 'depthh'; valid options:")


def test_plugins_lists_builtins_with_all():
    result = CliRunner().invoke(cli, ["plugins", "--all", "--json"])
    assert result.exit_code == 0
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert infos["mezoo.default_plugins.fusions"]["components"]["fusion"] == ["fu_a_attn", "fu_b_attn", "off_apexnet", "ststnet", "vit_grid"]
    assert infos["mezoo.default_plugins.datasets"]["builtin"] is True
    text = CliRunner().invoke(cli, ["plugins", "--all"]).output
    assert "mezoo.default_plugins.displacements  (built-in)" in text
    assert "    displacement: dgm, dynamic_image, farneback, of_norm" in text
    hidden = CliRunner().invoke(cli, ["plugins", "--json"]).output
    assert not any(i["builtin"] for i in json.loads(hidden))
