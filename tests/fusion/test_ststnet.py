"""STSTNet at the paper's sizes: 28 x 28 input of three streams (3, 5, 8 kernels), 400 features,
the last channels of the face (the displacement's), a LOSO on optical strain, bad options in one line."""

import pytest
import torch

from mezoo import plugins
from mezoo.errors import ConfigError


def test_the_paper_s_sizes_and_only_the_displacement_channels():
    head = plugins.make("fusion", "ststnet", in_channels=9, num_classes=3)
    assert [c.out_channels for c in head.streams] == [3, 5, 8]
    assert all(c.kernel_size == (3, 3) and c.in_channels == 3 for c in head.streams)
    assert head.classifier.in_features == 16 * 5 * 5  # 28 -> 10 (3 x 3 max pool, stride 3) -> 5 (2 x 2 average)
    face = torch.rand(4, 9, 90, 90)
    out = head(None, face)
    assert out.shape == (4, 3) and torch.isfinite(out).all()
    changed = face.clone()
    changed[:, :6] = torch.rand(4, 6, 90, 90)  # onset and apex: not STSTNet's input
    assert torch.equal(head(None, changed), out)
    changed[:, 6:] += 1.0
    assert not torch.equal(head(None, changed), out)
    assert head.uses_regions is False


def test_other_input_sizes_keep_same_pooling():
    head = plugins.make("fusion", "ststnet", in_channels=8, num_classes=5, input_channels=2, input_size=29)
    assert head.classifier.in_features == 16 * 5 * 5
    assert head(None, torch.rand(2, 8, 64, 64)).shape == (2, 5)


@pytest.mark.parametrize("options, message", [
    ({"input_channels": 10}, "fusion.ststnet.input_channels is 10; the model's inputs have 9 channels"),
    ({"input_size": 4}, "fusion.ststnet.input_size is 4"),
    ({"streams": []}, "fusion.ststnet.streams is \\[\\]"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        plugins.make("fusion", "ststnet", in_channels=9, num_classes=3, **options)


def test_loso_with_optical_strain_and_ststnet(tiny_config, tmp_path):
    from mezoo.loso.runner import run_loso

    settings = tiny_config(displacement={"name": "optical_strain"}, fusion={"name": "ststnet"},
                           train={"epochs": 2})
    report = run_loso(settings, tmp_path, progress=False).report
    assert report["full"]["n"] == 18 and 0.0 <= report["full"]["uf1"] <= 1.0
