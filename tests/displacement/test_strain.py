"""Optical strain from a flow provider: zero for a translation and a rotation, the stretch and the
shear of a deformation, the flow beside it, a LOSO through it, and bad options in one line."""

import pytest
import torch

from mezoo import plugins
from mezoo.displacement.strain import strain_magnitude
from mezoo.errors import MezooError


def _grid(n=32):
    y, x = torch.meshgrid(torch.arange(n, dtype=torch.float64), torch.arange(n, dtype=torch.float64), indexing="ij")
    return x - n / 2, y - n / 2


def test_a_moving_head_has_no_strain_and_a_deforming_face_has_its_own():
    x, y = _grid()
    translation = torch.stack([torch.full_like(x, 1.5), torch.full_like(x, -0.7)])[None]
    theta = 0.01
    rotation = torch.stack([-theta * y, theta * x])[None]  # small rigid rotation: antisymmetric gradient
    stretch = torch.stack([0.05 * x, torch.zeros_like(x)])[None]  # e_xx = 0.05
    shear = torch.stack([0.04 * y, torch.zeros_like(x)])[None]  # u_y = 0.04: e_xy = e_yx = 0.02
    assert strain_magnitude(translation).abs().max() < 1e-9
    assert strain_magnitude(rotation).abs().max() < 1e-9
    assert torch.allclose(strain_magnitude(stretch), torch.full((1, 1, 32, 32), 0.05, dtype=torch.float64))
    assert torch.allclose(strain_magnitude(shear), torch.full((1, 1, 32, 32), (2 * 0.02**2) ** 0.5, dtype=torch.float64))


def test_invalid_pixels_and_their_neighbours_carry_no_strain():
    x, _ = _grid()
    stretch = torch.stack([0.05 * x, torch.zeros_like(x)])[None]
    mask = torch.ones(1, 1, 32, 32, dtype=torch.float64)
    mask[..., :, :8] = 0
    out = strain_magnitude(stretch, mask)
    assert (out[..., :, :9] == 0).all() and torch.allclose(out[..., :, 10:], torch.tensor(0.05, dtype=torch.float64))


def test_the_provider_gives_flow_then_strain_from_the_chosen_flow():
    onset = torch.rand(1, 3, 64, 64)
    apex = onset.roll(2, dims=-1)
    with_flow = plugins.make("displacement", "optical_strain", flow="tvl1")
    out = with_flow(onset, apex)
    flow = plugins.make("displacement", "tvl1")(onset, apex)
    assert out.shape == (1, 3, 64, 64) and torch.allclose(out[:, :2], flow)
    assert torch.allclose(out[:, 2:], strain_magnitude(flow))
    assert with_flow.vector_field and with_flow.out_channels(3) == 3  # augmentation turns channels 0-1 as vectors
    alone = plugins.make("displacement", "optical_strain", with_flow=False)
    assert alone(onset, apex).shape == (1, 1, 64, 64) and not alone.vector_field and alone.out_channels(3) == 1
    assert plugins.make("displacement", "optical_strain", flow="tvl1").cache_version != alone.cache_version


@pytest.mark.parametrize("options, message", [
    ({"flow": "dgm"}, "displacement.optical_strain.flow is 'dgm', which is not a fixed optical flow in pixels"),
    ({"flow": "of_norm"}, "displacement.optical_strain.flow is 'of_norm', which is not a fixed optical flow"),
    ({"flow": "optical_strain"}, "cannot be optical_strain itself"),
    ({"flow": "farnebak"}, "farnebak"),
])
def test_a_flow_that_is_not_an_optical_flow_is_refused_in_one_line(options, message):
    with pytest.raises(MezooError, match=message):
        plugins.make("displacement", "optical_strain", **options)


@pytest.mark.parametrize("with_flow", [True, False])
def test_loso_runs_through_optical_strain(with_flow, tiny_config, tmp_path):
    from mezoo.loso.runner import run_loso

    settings = tiny_config(displacement={"name": "optical_strain", "optical_strain": {"with_flow": with_flow}},
                           train={"epochs": 1, "augment": {"hflip": 0.5, "rotate": 10.0}})
    report = run_loso(settings, tmp_path, progress=False).report
    assert report["full"]["n"] == 18 and 0.0 <= report["full"]["uf1"] <= 1.0
