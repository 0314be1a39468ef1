"""The core's sequence path (FRL-DGT-S), with an inline sequence head: the plugin is not needed."""

import numpy as np
import pytest
import torch
from torch import nn

from mezoo import hookimpl
from mezoo.augment import Augment
from mezoo.data import Sample
from mezoo.data.interpolate import linear
from mezoo.data.synthetic import CLASSES, SyntheticDataset
from mezoo.displacement.farneback import Farneback
from mezoo.errors import ConfigError, DataError
from mezoo.fusion.base import FusionHead
from mezoo.loso import runner
from mezoo.engine.frames import read_face, read_frames, read_sequence, to_chw
from mezoo.model import FRLDGT, build_model
from tests.conftest import registered


class MeanOverTime(FusionHead):
    """The smallest sequence head: pooled face channels -> linear, averaged over the steps."""

    sequence = True
    uses_regions = False
    config_defaults = {"train": {"batch_size": 4}}

    def __init__(self, in_channels, num_classes, num_steps, num_regions=9, region_size=90, face_size=90):
        super().__init__()
        self.num_steps = num_steps
        self.in_channels = in_channels
        self.linear = nn.Linear(in_channels, num_classes)

    def forward(self, regions, face):
        assert regions is None and face.shape[1:3] == (self.num_steps, self.in_channels)
        return self.linear(face.mean((-2, -1))).mean(1)


class _Plugin:
    @hookimpl
    def register_fusions(self, register):
        register(MeanOverTime, name="mean_over_time")


def test_read_sequence_resamples_the_clip_from_its_onset():
    sample = SyntheticDataset(subjects=2, clips_per_subject=1, frames=12, size=48).samples()[0]
    clip = read_sequence(sample, 5, linear, size=48)
    assert clip.shape == (5, 3, 48, 48) and clip.dtype == np.uint8
    assert np.array_equal(clip[0], to_chw(read_face(sample, 0, 48)[0], True))
    assert np.array_equal(clip[-1], to_chw(read_face(sample, 11, 48)[0], True))
    # t = 2.75 frames: between frames 2 and 3, three quarters of the way
    f2, f3 = (read_face(sample, i, 48)[0].astype(np.float32) for i in (2, 3))
    expected = np.clip(np.rint(0.25 * f2 + 0.75 * f3), 0, 255).astype(np.uint8)
    assert np.abs(clip[1].astype(int) - to_chw(expected, True).astype(int)).max() <= 1


def test_clip_without_frames_after_the_onset_is_named():
    s = Sample("d", "s07", "ep3", onset=4, apex=4, offset=4, emotion="x", label="x",
               frames=tuple(f"f{i}" for i in range(5)))
    with pytest.raises(DataError, match="sample d/s07/ep3: no frames after the onset"):
        read_sequence(s, 10, linear)


def test_prepare_holds_the_sequences():
    samples = SyntheticDataset(subjects=2, clips_per_subject=2, frames=12, size=48).samples()
    data = read_frames(samples, CLASSES, size=48, progress=False, sequence_length=6, interpolate=linear)
    assert data.sequence.shape == (4, 6, 3, 48, 48)
    assert torch.equal(data.sequence[:, 0], data.onset)
    frames, landmarks = data.sequence_frames(torch.tensor([1, 3]), "cpu")
    assert frames.shape == (2, 6, 3, 48, 48) and frames.max() <= 1 and torch.equal(landmarks, data.landmarks[[1, 3]])


def test_pairs_fold_the_onset_with_each_later_frame():
    frames = torch.rand(2, 4, 3, 32, 32)
    provider = Farneback()
    d = provider.pairs(frames)
    assert d.shape == (2, 3, 2, 32, 32)
    assert torch.allclose(d[1, 2], provider(frames[1:2, 0], frames[1:2, 3])[0])
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\) with T >= 2"):
        provider.pairs(frames[:, :1])


def test_sequence_inputs_are_frame_and_displacement_per_step():
    from mezoo.fusion.transformer_fusion import FuBAttn

    head = FuBAttn(in_channels=5, num_classes=3, embed_dim=16, num_heads=2, region_size=36, face_size=36)
    model = FRLDGT(Farneback(), head, region_size=36, full_face_size=36)
    frames, landmarks = torch.rand(2, 4, 3, 64, 64), torch.rand(2, 68, 2) * 40 + 12
    d = torch.randn(2, 3, 2, 64, 64)
    regions, face = model.sequence_inputs(frames, landmarks, d)
    assert regions.shape == (2, 3, 9, 5, 36, 36) and face.shape == (2, 3, 5, 36, 36)
    one_regions, one_face = model.cut(torch.cat([frames[1, 2:3], d[1, 1:2]], 1), landmarks[1:2])
    assert torch.allclose(regions[1, 1], one_regions[0]) and torch.allclose(face[1, 1], one_face[0])


def test_loso_with_a_sequence_head(tiny_config, tmp_path):
    with registered(_Plugin(), "inline-sequence"):
        cfg = tiny_config(fusion={"name": "mean_over_time"}, sequence={"length": 4, "interpolator": "linear"},
                          train={"epochs": 1, "batch_size": 4, "augment": {"hflip": 0.5, "rotate": 5.0}})
        model = build_model(cfg, 3)
        assert model.fusion.num_steps == 3 and model.fusion.in_channels == 3 + 2  # frame + displacement
        result = runner.run_loso(cfg, tmp_path, progress=False)
    assert result.report["full"]["n"] == 18 and len(result.trained) == 3
    assert result.report["run"]["inputs"] == "sequence"


def test_sequence_head_brings_its_defaults_below_the_users():
    from mezoo.cli import _config

    with registered(_Plugin(), "inline-sequence"):
        cfg = _config(None, None, None, "mean_over_time", None, (), None)
        assert cfg.train.batch_size == 4
        cfg = _config(None, None, None, "mean_over_time", None, ("train.batch_size=7",), None)
        assert cfg.train.batch_size == 7


def test_sequence_head_refuses_pair_augmentations(tiny_config, tmp_path):
    with registered(_Plugin(), "inline-sequence"):
        cfg = tiny_config(fusion={"name": "mean_over_time"}, train={"augmentations": ["motion_magnification"]})
        with pytest.raises(ConfigError, match="work on onset/apex pairs"):
            runner.run_loso(cfg, tmp_path, progress=False)


def test_sequence_length_below_two_is_refused(tiny_config):
    with registered(_Plugin(), "inline-sequence"):
        with pytest.raises(ConfigError, match=r"sequence.length is 1; it must be a whole number, at least 2"):
            tiny_config(fusion={"name": "mean_over_time"}, sequence={"length": 1})


def test_augmentation_moves_every_frame_alike():
    frames = torch.rand(2, 3, 3, 32, 32)
    landmarks = torch.rand(2, 68, 2) * 30
    flip = Augment(hflip=1.0, rotate=0.0, scale=0.0, translate=0.0)
    stack, _ = flip(frames.flatten(1, 2), landmarks, None, torch.Generator().manual_seed(0))
    out = stack.unflatten(1, (3, 3))
    assert torch.allclose(out, frames.flip(-1))
