"""Approximate rank pooling: coefficients against the closed form and a brute-force sum."""

import pytest
import torch

from mezoo.displacement import DynamicImage, dynamic_image, rank_pooling_coefficients
from mezoo.displacement.dynamic_image import harmonic


@pytest.mark.parametrize("length", range(2, 11))
def test_coefficients_closed_form_and_brute_force(length):
    t_len = length
    alpha = rank_pooling_coefficients(t_len)
    closed = [2 * (t_len - t + 1) - (t_len + 1) * (harmonic(t_len) - harmonic(t - 1)) for t in range(1, t_len + 1)]
    # Bilen et al.: alpha_t = sum_{i=t}^{T} (2i - T - 1) / i
    brute = [sum((2 * i - t_len - 1) / i for i in range(t, t_len + 1)) for t in range(1, t_len + 1)]
    assert torch.allclose(alpha, torch.tensor(closed, dtype=torch.float64))
    assert torch.allclose(alpha, torch.tensor(brute, dtype=torch.float64), atol=1e-12)
    assert alpha.sum().item() == pytest.approx(0.0, abs=1e-9)
    assert alpha[0] == alpha.min() < 0 < alpha[-1]  # the onset counts against, the end for


def test_the_minus_one_matters():
    # The common slip (2i - T)/i gives other weights; make sure we are not it.
    t_len = 5
    wrong = [sum((2 * i - t_len) / i for i in range(t, t_len + 1)) for t in range(1, t_len + 1)]
    assert not torch.allclose(rank_pooling_coefficients(t_len), torch.tensor(wrong, dtype=torch.float64))


def test_dynamic_image_of_brightening_clip():
    base = torch.rand(1, 1, 1, 8, 8)
    ramp = torch.linspace(0, 1, 6)[None, :, None, None, None]
    frames = base + ramp * torch.ones(1, 1, 1, 8, 8) * 0.2  # every pixel brightens over time
    d = dynamic_image(frames)
    assert d.shape == (1, 1, 8, 8)
    assert (d > 0).all() and d.pow(2).mean().sqrt().item() == pytest.approx(1.0, abs=1e-4)


def test_provider_channels_and_two_frame_form():
    provider = DynamicImage()
    assert provider.out_channels(3) == 3 and provider.uses_sequence and not provider.trainable
    onset, apex = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    expected = dynamic_image(torch.stack([onset, apex], 1))
    assert torch.allclose(provider(onset, apex), expected)
    diff = apex - onset
    assert torch.allclose(expected, diff / diff.pow(2).mean((1, 2, 3), keepdim=True).sqrt(), atol=1e-4)
