"""Dual TV-L1 flow (OpenCV contrib): present, recovers known motion on a real photo, refuses bad options."""

import cv2
import numpy as np
import pytest
import torch

from mezoo.displacement.tvl1 import TVL1, tvl1_flow
from mezoo.errors import ConfigError


def test_opencv_is_the_contrib_build():
    """The dependency is opencv-contrib-python-headless: cv2.optflow is there, and one OpenCV only."""
    import importlib.metadata

    assert hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")
    wheels = [d for d in ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
                          "opencv-contrib-python-headless") if _installed(importlib.metadata, d)]
    assert wheels == ["opencv-contrib-python-headless"], wheels


def _installed(metadata, name):
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _photo():
    """scikit-image's astronaut, her face and shoulders at 224 x 224, grey in [0, 1]."""
    from skimage import data

    return cv2.cvtColor(data.astronaut()[0:448:2, 50:498:2], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255


@pytest.mark.parametrize("shift", [(0.7, -0.4), (-1.5, 1.0)])
def test_recovers_a_subpixel_translation_of_a_real_photo(shift):
    img = _photo()
    m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    moved = cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    flow = tvl1_flow(torch.from_numpy(img)[None, None], torch.from_numpy(moved)[None, None])
    assert flow.shape == (1, 2, 224, 224) and flow.dtype == torch.float32
    interior = flow[0, :, 30:-30, 30:-30].reshape(2, -1).median(dim=1).values
    assert torch.allclose(interior, torch.tensor(shift), atol=0.1), interior


def test_a_local_motion_stays_local_and_the_mask_zeroes_the_rest():
    """A 2 px bump moving one patch of the photo right (an AU-like local motion), colour input."""
    img = _photo()
    yy, xx = np.mgrid[0:224, 0:224].astype(np.float32)
    bump = 2.0 * np.exp(-((xx - 112) ** 2 + (yy - 80) ** 2) / (2 * 12.0 ** 2))
    moved = cv2.remap(img, xx - bump, yy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    rgb = lambda a: torch.from_numpy(a)[None, None].expand(1, 3, 224, 224)  # noqa: E731
    mask = torch.ones(1, 1, 224, 224)
    mask[..., :, 200:] = 0
    flow = TVL1()(rgb(img), rgb(moved), mask=mask)[0]
    # the bump's centre moves right by about 2 px: TV-L1's total-variation term flattens the peak
    # (measured 1.18 px there), while over the image its error is small (0.010 px; Farneback's 0.022)
    assert 0.9 < flow[0, 74:86, 106:118].mean() < 2.2
    assert float(np.hypot(flow[0, :, :200].numpy() - bump[:, :200], flow[1, :, :200].numpy()).mean()) < 0.02
    assert flow[:, 180:, :].abs().mean() < 0.1  # far from it nothing moves
    assert (flow[:, :, 200:] == 0).all()


@pytest.mark.parametrize("options, message", [
    ({"tau": 0}, r"displacement\.tvl1\.tau is 0; it must be a number above 0"),
    ({"nscales": 0}, r"displacement\.tvl1\.nscales is 0; it must be a whole number of at least 1"),
    ({"warps": 2.5}, r"displacement\.tvl1\.warps is 2\.5"),
    ({"scale_step": 1.5}, r"displacement\.tvl1\.scale_step is 1\.5; it must be between 0 and 1"),
    ({"median_filtering": 4}, r"displacement\.tvl1\.median_filtering is 4; it must be an odd whole number"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        TVL1(**options)


def test_without_the_contrib_build_it_says_what_to_install(monkeypatch):
    monkeypatch.delattr(cv2, "optflow")
    with pytest.raises(ConfigError, match=r"needs OpenCV's contrib build .*pip install opencv-contrib-python-headless"):
        TVL1()
