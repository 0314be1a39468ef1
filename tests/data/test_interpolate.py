"""Temporal interpolators and the register_interpolators hook."""

import numpy as np
import pytest

from mezoo import hookimpl, plugins
from mezoo.data.interpolate import linear
from mezoo.errors import DataError
from tests.conftest import registered


def clip(n, h=4, w=5):
    return np.random.default_rng(n).integers(0, 255, (n, h, w, 3)).astype(np.uint8)


@pytest.mark.parametrize("n,length", [(2, 10), (7, 10), (30, 10), (10, 10), (5, 2)])
def test_linear_length_and_ends(n, length):
    frames = clip(n)
    out = linear(frames, length)
    assert out.shape == (length, 4, 5, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], frames[0])
    np.testing.assert_allclose(out[-1], frames[-1])


def test_linear_reproduces_input_at_same_length_and_ramps_exactly():
    frames = clip(9)
    np.testing.assert_allclose(linear(frames, 9), frames, atol=1e-4)
    ramp = np.arange(6, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32)
    out = linear(ramp, 11)
    np.testing.assert_allclose(out[:, 0, 0, 0], np.linspace(0, 5, 11), atol=1e-5)


def test_bad_input():
    with pytest.raises(DataError, match="at least 2 frames"):
        linear(clip(1), 10)
    with pytest.raises(DataError, match="length must be at least 2"):
        linear(clip(3), 1)


def test_register_interpolators_hook():
    class Plugin:
        @hookimpl
        def register_interpolators(self, register):
            register(lambda frames, length: np.repeat(np.asarray(frames, np.float32)[:1], length, 0), name="hold")

    assert "linear" in plugins.names("interpolator")
    with registered(Plugin(), "hold-plugin"):
        hold = plugins.get("interpolator", "hold")
        assert hold(clip(4), 6).shape == (6, 4, 5, 3)
    assert "hold" not in plugins.names("interpolator")
