"""Building FRL-DGT from settings (mezoo.model.build_model), beside the model and out of the LOSO code."""

import pytest
import torch

from mezoo.errors import ConfigError
from mezoo.face import canonical_landmarks
from mezoo.model import build_model, is_sequence_model
from mezoo.settings import load_settings


@pytest.mark.parametrize("displacement, color, channels", [
    ("farneback", True, 3 + 3 + 2), ("farneback", False, 1 + 1 + 2), ("dynamic_image", True, 3 + 3 + 3),
])
def test_in_channels_follow_the_frames_and_the_provider(tiny_config, displacement, color, channels):
    settings = tiny_config(displacement={"name": displacement}, face={"color": color})
    model = build_model(settings, num_classes=5)
    assert model.fusion.region_embed.weight.shape[-1] == channels * 18 * 18  # a patch of every channel
    assert (model.regions, model.region_size, model.full_face_size) == ("au9", 36, 36)
    landmarks = torch.as_tensor(canonical_landmarks(112), dtype=torch.float32)[None]
    frames = torch.rand(2, 3 if color else 1, 112, 112)
    model.eval()
    assert model(frames, frames, landmarks.expand(2, 68, 2)).shape == (2, 5)


def test_each_head_and_the_options_reach_it(tiny_config):
    m4 = build_model(tiny_config(fusion={"name": "fu_a_attn", "fu_a_attn": {"local_depth": 2}}), num_classes=3)
    assert type(m4.fusion).__name__ == "FuAAttn" and m4.fusion.fusion_layer == "after"
    assert len(m4.fusion.face.blocks) == 1 and len(m4.fusion.global_.blocks) == 1
    grid = build_model(tiny_config(regions={"kind": "grid3x3"}, fusion={"name": "vit_grid"}), num_classes=3)
    assert grid.regions == "grid3x3" and not grid.fusion.uses_regions
    assert not is_sequence_model(tiny_config())


def test_a_sequence_head_gets_its_steps(tiny_config):
    pytest.importorskip("mezoo_tim")
    settings = tiny_config(fusion={"name": "fu_b_attn_s", "fu_b_attn_s": {"embed_dim": 32, "num_heads": 4}},
                           sequence={"length": 5})
    assert is_sequence_model(settings) and settings.train.batch_size == 8  # tiny's 8 beats the head's 5
    model = build_model(settings, num_classes=3)
    assert model.fusion.num_steps == 4


@pytest.mark.parametrize("overrides, message", [
    ({"fusion": {"fu_b_attn": {"embed_dim": 30}}}, r"embed_dim 30 is not a multiple of its num_heads 4"),
    ({"regions": {"full_face_size": 40}}, r"face_size 40 \(regions.full_face_size\) is not a multiple"),
    ({"fusion": {"fu_b_attn": {"use_local": False, "use_global": False, "use_full_face": False}}},
     r"nothing left to classify"),
    ({"displacement": {"name": "dgm", "dgm": {"scale": 0.5, "levels": 5}}, "face": {"size": 96}},
     r"face.size 96 times displacement.dgm.scale 0.5 = 48 px, which is not divisible by 2\*\*levels = 32"),
    ({"displacement": {"name": "dgm", "dgm": {"weights": "/nonexistent.safetensors"}}},
     r"displacement.dgm.weights: /nonexistent.safetensors does not exist"),
])
def test_options_a_component_refuses_are_config_errors(tiny_config, overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_model(tiny_config(**overrides), num_classes=3)


def test_the_packaged_defaults_build_the_papers_model():
    model = build_model(load_settings(overrides={"dataset": {"name": "casme2"}, "displacement": {"name": "dgm"}}),
                        num_classes=5)
    assert model.fusion.region_embed.weight.shape == (9, 256, 8 * 18 * 18)  # K = 9, C = 256, 18 x 18 patches
    assert (model.region_size, model.full_face_size, type(model.displacement).__name__) == (90, 90, "DGM")
