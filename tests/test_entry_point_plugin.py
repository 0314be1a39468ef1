"""A real third-party plugin, installed from plugins/mezoo-example, found through its entry point."""

import importlib.metadata
import json

import pytest
import torch
from click.testing import CliRunner

from mezoo import plugins
from mezoo.cli import cli


@pytest.fixture(scope="module", autouse=True)
def example_installed():
    try:
        importlib.metadata.distribution("mezoo-example")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("the example plugin is not installed: pip install -e plugins/mezoo-example (see README)")


def test_listed_with_distribution_and_version():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert infos["example"]["distribution"] == "mezoo-example"
    assert infos["example"]["version"] == importlib.metadata.version("mezoo-example")
    assert infos["example"]["components"] == {"displacement": ["normal_flow"]}
    text = CliRunner().invoke(cli, ["plugins"]).output
    assert f"example  (mezoo-example {importlib.metadata.version('mezoo-example')})" in text


def test_normal_flow_sees_a_shift():
    provider = plugins.make("displacement", "normal_flow")
    x = torch.linspace(0, 1, 64)
    ramp = (x[None, :] * 0.5 + 0.25).expand(64, 64)[None, None]  # brightness rises to the right
    moved = ramp - 0.5 / 63  # the ramp moved one pixel to the right
    d = provider(ramp, moved)
    assert d.shape == (1, 2, 64, 64)
    assert d[0, 0, 10:-10, 10:-10].mean() == pytest.approx(1.0, abs=0.05)
    assert d[0, 1, 10:-10, 10:-10].abs().max() < 1e-3


def test_run_uses_it_by_name(tiny_config, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config(train={"epochs": 1}).dump())
    result = CliRunner().invoke(cli, ["run", "--displacement", "normal_flow", "--config", str(path),
                                      "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| normal_flow + fu_b_attn |" in result.output
