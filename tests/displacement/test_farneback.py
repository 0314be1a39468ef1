"""Farneback flow recovers a known motion."""

import cv2
import numpy as np
import pytest
import torch

from mezoo.displacement import Farneback, farneback_flow


def _textured(size=96, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 2.0)
    return (img - img.min()) / (img.max() - img.min())


@pytest.mark.parametrize("shift", [(1.5, 0.0), (0.0, -2.0), (1.0, 1.0)])
def test_recovers_a_subpixel_translation(shift):
    img = _textured()
    m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    moved = cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    flow = farneback_flow(torch.from_numpy(img)[None, None], torch.from_numpy(moved)[None, None])
    assert flow.shape == (1, 2, 96, 96)
    interior = flow[0, :, 20:-20, 20:-20].reshape(2, -1).median(dim=1).values
    assert torch.allclose(interior, torch.tensor(shift, dtype=torch.float32), atol=0.25), interior


def test_recovers_an_expansion_direction():
    img = _textured(seed=1)
    m = cv2.getRotationMatrix2D((48, 48), 0.0, 1.04)
    moved = cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    flow = Farneback()(torch.from_numpy(img)[None, None], torch.from_numpy(moved)[None, None])[0]
    assert flow[0, 30:66, 64:80].mean() > 0.3  # right of centre moves right
    assert flow[0, 30:66, 16:32].mean() < -0.3  # left of centre moves left
    assert flow[1, 64:80, 30:66].mean() > 0.3  # below the centre moves down


def test_colour_input_and_batch_without_motion():
    x = torch.stack([torch.from_numpy(np.stack([_textured(64, seed + c) for c in range(3)])) for seed in range(3)])
    out = Farneback()(x, x)
    assert out.shape == (3, 2, 64, 64)
    assert out.abs().median() < 0.01
    assert out[..., 8:-8, 8:-8].abs().max() < 0.05  # Farneback wobbles a little at the borders
