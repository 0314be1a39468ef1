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
    assert infos["example"]["components"] == {"displacement": ["normal_flow"], "features": ["mdmo"],
                                              "classifier": ["logistic"], "model": ["mdmo"]}
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


def test_mdmo_reads_the_main_direction():
    import numpy as np

    mdmo = plugins.make("features", "mdmo", blocks=2)
    flow = np.zeros((2, 40, 40), np.float32)
    flow[0, :, 20:] = 2.0  # the right half moves right by 2 px
    flow[1, :20, :20] = -1.0  # the top-left block moves up by 1 px
    features = mdmo.extract(np.zeros((2, 40, 40), np.float32), flow, None).reshape(2, 2, 2)
    assert np.allclose(features[:, 1], [[2.0, 0.0], [2.0, 0.0]])  # (magnitude, angle) of the right blocks
    assert np.allclose(features[0, 0], [1.0, -np.pi / 2]) and np.allclose(features[1, 0], [0.0, 0.0])


def test_its_classical_model_runs_in_the_zoo(tiny_config, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_config().dump())
    result = CliRunner().invoke(cli, ["zoo", "--models", "mdmo", "--config", str(path), "--out", str(tmp_path / "z"),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| MDMO + logistic (example plugin) | Liu et al., IEEE TAC 2016 (MDMO) |" in result.output
    report = json.loads((tmp_path / "z" / "mdmo" / "report.json").read_text())
    assert report["run"]["features"] == "mdmo" and report["run"]["classifier"] == "logistic"
