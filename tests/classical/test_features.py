"""The classical feature extractors at their documented sizes: LBP-TOP's 5 x 5 blocks x 3 planes x
59 bins, invariant to a brightness offset, its planes seeing space and time; Bi-WOOF's 5 x 5 x 8
orientation histograms, weighted by flow magnitude and block strain (zero for a head that only
moves); masks; bad options and inputs in one line."""

import numpy as np
import pytest

from mezoo import plugins
from mezoo.errors import ConfigError


def _clip(t=10, h=60, w=50, seed=0):
    """Frames of whole grey levels (k / 255) in [0, 200]: an offset moves no level out of range."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 201, size=(t, h, w)).astype(np.float32) / 255


def test_lbp_top_sizes_and_histograms():
    lbp = plugins.make("features", "lbp_top")
    assert (lbp.blocks, lbp.points, lbp.radius, lbp.bins) == (5, 8, 1, 59)
    features = lbp.extract(_clip(), None, None)
    assert features.shape == (5 * 5 * 3 * 59,) == (lbp.size,)
    histograms = features.reshape(25, 3, 59)
    assert np.allclose(histograms.sum(-1), 1.0)  # each block's histogram of each plane sums to 1
    assert plugins.make("features", "lbp_top", blocks=2, points=4, uniform=False).extract(
        _clip(), None, None).shape == (2 * 2 * 3 * 16,)


def test_lbp_top_ignores_brightness_and_sees_time():
    lbp = plugins.make("features", "lbp_top")
    clip = _clip()
    features = lbp.extract(clip, None, None).reshape(25, 3, 59)
    assert np.array_equal(lbp.extract(clip + 20 / 255, None, None).reshape(25, 3, 59), features)
    still = np.repeat(clip[:1], 10, axis=0)  # one frame held: XY as the frame, XT and YT flat in time
    held = lbp.extract(still, None, None).reshape(25, 3, 59)
    assert not np.allclose(held[:, 1:], features[:, 1:])
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(np.rint(clip[0] * 255).astype(np.uint8), 8, 1, method="nri_uniform")
    top_left = codes[1:12, 1:10].astype(int)  # block (0, 0) of a 60 x 50 face, the border pixel left out
    expected = np.bincount(top_left.ravel(), minlength=59) / top_left.size
    assert np.allclose(held[0, 0], expected)


def test_lbp_top_counts_only_recorded_pixels():
    lbp = plugins.make("features", "lbp_top")
    mask = np.ones((60, 50), bool)
    mask[:, :10] = False  # the first column of blocks was never recorded
    features = lbp.extract(_clip(), None, mask).reshape(5, 5, 3, 59)
    assert np.all(features[:, 0] == 0)
    assert np.allclose(features[:, 1:].sum(-1), 1.0)


def test_bi_woof_sizes_and_weights():
    woof = plugins.make("features", "bi_woof")
    assert (woof.blocks, woof.bins, woof.size) == (5, 8, 200)
    h = w = 50
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    stretch = np.stack([0.1 * (x - 24.5), np.zeros_like(x)])  # u = 0.1 (x - cx): strain 0.1 everywhere
    features = woof.extract(_clip(2, h, w), stretch, None).reshape(5, 5, 8)
    right, left = features[:, 4], features[:, 0]
    assert np.allclose(right[:, 4], 0.1, atol=1e-3) and np.allclose(np.delete(right, 4, axis=1), 0)  # flow -> 0 rad
    assert np.allclose(left[:, 7], 0.1, atol=1e-3) and np.allclose(left[:, :7], 0)  # flow -> pi rad
    double = woof.extract(_clip(2, h, w), 2 * stretch, None).reshape(5, 5, 8)
    assert np.allclose(double, 2 * features, atol=1e-4)  # the block weight scales with the strain


@pytest.mark.parametrize("moved", ["translation", "rotation"])
def test_bi_woof_is_zero_for_head_motion(moved):
    h = w = 40
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) - 19.5
    flow = (np.stack([np.full_like(x, 1.5), np.full_like(x, -0.5)]) if moved == "translation"
            else np.stack([-0.02 * y, 0.02 * x]))  # (a small rotation: u = -a y, v = a x)
    features = plugins.make("features", "bi_woof").extract(_clip(2, h, w), flow, None)
    assert np.abs(features).max() < 1e-5


def test_bi_woof_counts_only_recorded_pixels():
    h = w = 50
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([0.1 * (x - 24.5), np.zeros_like(x)])
    flow[:, :, :10] = 50.0  # garbage where nothing was recorded
    mask = np.ones((h, w), bool)
    mask[:, :10] = False
    features = plugins.make("features", "bi_woof").extract(_clip(2, h, w), flow, mask).reshape(5, 5, 8)
    assert np.all(features[:, 0] == 0)
    assert features.max() < 0.11


@pytest.mark.parametrize("name, options, message", [
    ("lbp_top", {"blocks": 0}, "features.lbp_top.blocks is 0"),
    ("lbp_top", {"points": 2}, "features.lbp_top.points is 2"),
    ("lbp_top", {"radius": 0}, "features.lbp_top.radius is 0"),
    ("bi_woof", {"blocks": 0}, "features.bi_woof.blocks is 0"),
    ("bi_woof", {"bins": 1}, "features.bi_woof.bins is 1"),
    ("lbp_top", {"cells": 3}, "features 'lbp_top' has no option 'cells'; valid options: blocks, points, radius"),
])
def test_bad_options_are_one_line(name, options, message):
    with pytest.raises(ConfigError, match=message):
        plugins.make("features", name, **options)


def test_inputs_they_cannot_use_are_one_line():
    with pytest.raises(ConfigError, match="needs clips of at least 3 frames \\(sequence.length\\)"):
        plugins.make("features", "lbp_top").extract(_clip(t=2), None, None)
    with pytest.raises(ConfigError, match="features.bi_woof needs an onset -> apex flow"):
        plugins.make("features", "bi_woof").extract(_clip(t=2), None, None)
