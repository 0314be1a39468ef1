"""Off-ApexNet at the paper's sizes: two streams on the 28 x 28 horizontal and vertical flow (5 x 5
convolutions of 6 and 16 kernels, 2 x 2 max pooling), two fully connected layers of 1024, only the
flow channels read, a LOSO on Farneback flow, bad options in one line."""

import pytest
import torch

from mezoo import plugins
from mezoo.errors import ConfigError


def test_the_paper_s_sizes_and_only_the_flow_channels():
    head = plugins.make("fusion", "off_apexnet", in_channels=8, num_classes=3).eval()
    assert len(head.streams) == 2
    convs = [[m for m in s if isinstance(m, torch.nn.Conv2d)] for s in head.streams]
    assert [[(c.in_channels, c.out_channels, c.kernel_size) for c in s] for s in convs] == \
        [[(1, 6, (5, 5)), (6, 16, (5, 5))]] * 2
    linears = [m for m in head.classifier if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2 * 16 * 7 * 7, 1024), (1024, 1024), (1024, 3)]
    face = torch.rand(4, 8, 90, 90)
    out = head(None, face)
    assert out.shape == (4, 3) and torch.isfinite(out).all()
    changed = face.clone()
    changed[:, :6] = torch.rand(4, 6, 90, 90)  # onset and apex: not Off-ApexNet's input
    assert torch.equal(head(None, changed), out)
    changed[:, 7] += 1.0  # the vertical flow
    assert not torch.equal(head(None, changed), out)
    assert head.uses_regions is False


def test_the_streams_see_one_component_each():
    head = plugins.make("fusion", "off_apexnet", in_channels=9, num_classes=3, flow_channels=[-3, -2]).eval()
    face = torch.rand(2, 9, 56, 56)
    out = head(None, face)
    face[:, -1] += 5.0  # optical_strain's strain channel: not read with flow_channels [-3, -2]
    assert torch.equal(head(None, face), out)
    assert head(None, torch.rand(2, 9, 64, 64)).shape == (2, 3)


@pytest.mark.parametrize("options, message", [
    ({"input_size": 3}, "fusion.off_apexnet.input_size is 3"),
    ({"kernels": [6]}, "fusion.off_apexnet.kernels is \\[6\\]"),
    ({"hidden": 0}, "fusion.off_apexnet.hidden is 0"),
    ({"dropout": 1.0}, "fusion.off_apexnet.dropout is 1.0"),
    ({"flow_channels": [-1, -1]}, "fusion.off_apexnet.flow_channels is \\[-1, -1\\]"),
    ({"flow_channels": [-9, -1]}, "each from -8 to -1"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        plugins.make("fusion", "off_apexnet", in_channels=8, num_classes=3, **options)


def test_loso_with_farneback_and_off_apexnet(tiny_config, tmp_path):
    from mezoo.loso.runner import run_loso

    settings = tiny_config(displacement={"name": "farneback"}, fusion={"name": "off_apexnet"}, train={"epochs": 2})
    report = run_loso(settings, tmp_path, progress=False).report
    assert report["full"]["n"] == 18 and 0.0 <= report["full"]["uf1"] <= 1.0
