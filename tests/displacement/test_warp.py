"""Warping by a displacement and the DGM's loss terms (paper eq. 1-3)."""

import pytest
import torch

from mezoo.displacement import (
    DisplacementWarp,
    normalization_loss,
    per_sample_normalize,
    reconstruction_loss,
    scale_grad,
    smoothness_loss,
    warp_by_displacement,
)


def _smooth(h, w, dx=0.0, dy=0.0, device="cpu"):
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=device),
                            torch.arange(w, dtype=torch.float32, device=device), indexing="ij")
    xs, ys = xs - dx, ys - dy
    return (torch.sin(xs / 6.0) + torch.cos(ys / 9.0) + 0.01 * xs * ys / 10)[None, None]


@pytest.mark.parametrize("shift", [(1.3, -0.7), (0.25, 0.0), (-2.0, 1.5)])
def test_constant_displacement_shifts_the_image(shift, device):
    image = _smooth(48, 64, device=device)
    d = torch.tensor(shift, device=device)[None, :, None, None].expand(1, 2, 48, 64)
    moved = warp_by_displacement(image, d)
    expected = _smooth(48, 64, *shift, device=device)  # content moved by +shift
    interior = (..., slice(6, -6), slice(6, -6))
    assert torch.allclose(moved[interior], expected[interior], atol=5e-3)
    assert torch.allclose(DisplacementWarp()(image, d), moved)


def test_zero_displacement_is_identity():
    image = torch.rand(2, 3, 16, 20)
    assert torch.allclose(warp_by_displacement(image, torch.zeros(2, 2, 16, 20)), image, atol=1e-6)


def test_reconstruction_loss_zero_for_the_true_motion():
    onset = _smooth(40, 40)
    apex = _smooth(40, 40, 1.0, 0.0)
    true = torch.tensor([1.0, 0.0])[None, :, None, None].expand(1, 2, 40, 40)
    assert reconstruction_loss(onset, apex, true) < 0.1 * reconstruction_loss(onset, apex, torch.zeros_like(true))


def test_normalization_loss_formula():
    d = torch.tensor([[[[1.0, -2.0], [0.0, 3.0]], [[-1.0, 0.0], [0.5, 0.5]]]])  # (1, 2, 2, 2)
    assert normalization_loss(d).item() == pytest.approx((1 + 2 + 0 + 3 + 1 + 0 + 0.5 + 0.5) / 8)


def test_smoothness_loss_formula():
    d = torch.zeros(1, 2, 3, 4)
    d[0, 0] = torch.tensor([[0.0, 1.0, 3.0, 6.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    # x: channel 0 row diffs |1|+|2|+|3| = 6, others 0 -> over 2 x 3 x 3 = 18 terms;
    # y: channel 0 column diffs rows 0->1: 0+1+3+6 = 10, rows 1->2: 4 -> 14 over 2 x 2 x 4 = 16 terms.
    assert smoothness_loss(d).item() == pytest.approx(6 / 18 + 14 / 16)
    assert smoothness_loss(torch.ones(1, 2, 5, 5)).item() == 0


def test_per_sample_normalize_gives_unit_rms():
    d = torch.randn(3, 2, 8, 8) * torch.tensor([0.1, 1.0, 10.0])[:, None, None, None]
    n = per_sample_normalize(d)
    rms = n.pow(2).sum(1).mean((1, 2)).sqrt()
    assert torch.allclose(rms, torch.ones(3), atol=1e-4)
    assert torch.allclose(n[0] / n[0].abs().max(), d[0] / d[0].abs().max(), atol=1e-5)  # direction kept


def test_per_sample_normalize_of_zero_motion_has_finite_gradient():
    """A fresh DGM outputs exactly zero; without self-supervised warm-up (M3) the classifier's
    gradient reaches it through this normalisation, which must not turn it into NaN."""
    d = torch.zeros(2, 2, 8, 8, requires_grad=True)
    n = per_sample_normalize(d)
    assert torch.equal(n, torch.zeros_like(n))
    (n * torch.randn_like(n)).sum().backward()
    assert torch.isfinite(d.grad).all() and d.grad.abs().sum() > 0


def test_scale_grad_scales_only_the_gradient():
    x = torch.randn(5, requires_grad=True)
    y = scale_grad(x, 1e-6)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.full((5,), 1e-6))
