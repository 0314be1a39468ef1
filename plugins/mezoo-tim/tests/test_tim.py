"""TIM: lengths, reproduction, linear sequences; reached only through its entry point."""

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mezoo import plugins
from mezoo.cli import cli

MEZOO = Path(__file__).resolve().parents[3] / "mezoo"


@pytest.fixture(scope="module")
def tim():
    try:
        importlib.metadata.distribution("mezoo-tim")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("mezoo-tim is not installed: pip install -e plugins/mezoo-tim (see README)")
    return plugins.get("interpolator", "tim")


def frames(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 6, 7, 3)).astype(np.uint8)


@pytest.mark.parametrize("n", [2, 3, 9, 10, 17, 40])
@pytest.mark.parametrize("length", [2, 10, 25])
def test_exactly_t_frames_with_the_ends_kept(tim, n, length):
    x = frames(n)
    out = tim(x, length)
    assert out.shape == (length, 6, 7, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], x[0], atol=1e-3)
    np.testing.assert_allclose(out[-1], x[-1], atol=1e-3)


@pytest.mark.parametrize("n", [2, 5, 10, 30])
def test_same_length_reproduces_the_input(tim, n):
    x = frames(n, seed=n)
    # stated tolerance: 1e-3 grey levels for 8-bit frames (float64 solve, float32 output)
    np.testing.assert_allclose(tim(x, n), x, atol=1e-3)


@pytest.mark.parametrize("n,length", [(6, 10), (12, 10), (30, 10), (8, 29)])
def test_linear_change_is_interpolated_linearly(tim, n, length):
    """Pixels changing linearly in time come out (nearly) on the same line: TIM's sinusoids
    fit a straight line through the n frames; between them it deviates by less than 1% of the
    change over the clip for n >= 6 (measured: 0.75% at n = 6, T = 10; 0.01% at n = 30; with only
    n = 3 frames it reaches 4%)."""
    slope = np.linspace(-3, 5, 6 * 7 * 3).reshape(1, 6, 7, 3)
    x = 100 + slope * np.arange(n)[:, None, None, None]
    out = tim(x, length)
    expected = 100 + slope * np.linspace(0, n - 1, length)[:, None, None, None]
    change = np.abs(slope * (n - 1)).max()
    assert np.abs(out - expected).max() <= 0.01 * change


def test_listed_with_its_version():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert infos["tim"]["distribution"] == "mezoo-tim"
    assert infos["tim"]["version"] == importlib.metadata.version("mezoo-tim")
    assert infos["tim"]["components"] == {"fusion": ["fu_a_attn_s", "fu_b_attn_s"], "interpolator": ["tim"]}


def test_core_never_imports_the_plugin():
    offenders = [str(p) for p in MEZOO.rglob("*.py") if "mezoo_tim" in p.read_text()]
    assert MEZOO.is_dir() and not offenders
