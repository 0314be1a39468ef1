"""FRL-DGT-S: DGM-S and TransFu-S shapes, one training step, and a run from `mezoo run` by name."""

import json

import pytest
import torch
import yaml
from click.testing import CliRunner

from mezoo import plugins
from mezoo.cli import cli
from mezoo.displacement.dgm import DGM
from mezoo.model import FRLDGT
from mezoo.fusion.transformer_fusion import FuBAttn

SMALL = dict(embed_dim=32, num_heads=4, patch_size=18, region_size=36, face_size=36)


@pytest.fixture(scope="module")
def head_cls():
    return plugins.get("fusion", "fu_b_attn_s")


def test_dgm_s_gives_one_displacement_per_onset_frame_pair():
    torch.manual_seed(0)
    dgm = DGM(width=4).eval()
    frames = torch.rand(2, 5, 3, 32, 32)
    d = dgm.pairs(frames)
    assert d.shape == (2, 4, 2, 32, 32)
    for t in (1, 4):
        assert torch.allclose(d[1, t - 1], dgm(frames[1:2, 0], frames[1:2, t])[0], atol=1e-6)
    d_train, loss = dgm.train().pairs_training_forward(frames)
    assert d_train.shape == (2, 4, 2, 32, 32) and loss.ndim == 0 and torch.isfinite(loss)


def test_transfu_s_shapes_and_parameters(head_cls):
    head = head_cls(in_channels=5, num_classes=4, num_steps=9, **SMALL)
    regions, face = torch.rand(3, 9, 9, 5, 36, 36), torch.rand(3, 9, 5, 36, 36)
    assert head(regions, face).shape == (3, 4)
    assert head.time.pos_embed.shape == (1, 9, 2 * 32)  # T-1 step tokens, regions + face side by side
    assert head.classifier[1].in_features == 2 * 32
    assert head.fusion_weights()["time"].shape == (3, 4, 9)  # (B, h, T-1)
    with pytest.raises(ValueError, match="sequence.length must be num_steps \\+ 1"):
        head(regions[:, :8], face[:, :8])


def test_each_step_is_fused_alone_before_the_time_step(head_cls):
    torch.manual_seed(0)
    head = head_cls(in_channels=5, num_classes=3, num_steps=4, **SMALL).eval()
    pair = FuBAttn(in_channels=5, num_classes=3, **SMALL).eval()
    pair.load_state_dict({k: v for k, v in head.state_dict().items() if not k.startswith("time.")})
    regions, face = torch.rand(2, 4, 9, 5, 36, 36), torch.rand(2, 4, 5, 36, 36)
    steps = head.step_features(regions, face)
    assert torch.allclose(steps[1, 2], pair.features(regions[1, 2:3], face[1, 2:3])[0], atol=1e-5)


def test_frl_dgt_s_trains_one_step_without_nan(head_cls):
    torch.manual_seed(0)
    model = FRLDGT(DGM(width=4), head_cls(in_channels=5, num_classes=3, num_steps=4, **SMALL),
                   region_size=36, full_face_size=36)
    frames = torch.rand(5, 5, 3, 64, 64)  # batch 5, T = 5
    landmarks = torch.rand(5, 68, 2) * 30 + 17
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    logits, dgm_loss = model.sequence_training_step(frames, landmarks)
    assert logits.shape == (5, 3)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1])) + dgm_loss
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    optimizer.step()
    assert model.displacement.head.weight.grad.abs().sum() > 0 and model.fusion.time.pos_embed.grad.abs().sum() > 0
    unchanged = [n for n, p in model.named_parameters() if torch.equal(before[n], p)]
    # a fresh DGM's head is zero, so its first step moves the head's weights alone (its bias cancels
    # in the symmetric field, g(a, b) - g(b, a))
    assert unchanged and all(n.startswith("displacement.") and n != "displacement.head.weight" for n in unchanged)


def test_run_by_name_from_the_command_line(tmp_path):
    config = {
        "dataset": {"synthetic": {"subjects": 2, "clips_per_subject": 3, "size": 64}},
        "face": {"size": 64},
        "regions": {"size": 36, "full_face_size": 36},
        "displacement": {"dgm": {"width": 4, "warmup_steps": 1, "pairs_per_clip": 1, "pair_batch_size": 2,
                                 "weights": None}},  # from scratch: the shipped weights are width 8
        "fusion": {"fu_b_attn_s": {"embed_dim": 32, "num_heads": 4}},
        "train": {"epochs": 1},
        "run": {"device": "cpu", "checkpoints": False},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--displacement", "dgm", "--fusion", "fu_b_attn_s", "--config",
                                      str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| dgm + fu_b_attn_s |" in result.output
    saved = yaml.safe_load((out / "config.yaml").read_text())
    # FRL-DGT-S's settings come with the head (paper sec. 4.4): batch 5, TIM to 10 frames
    assert saved["train"]["batch_size"] == 5
    assert saved["sequence"] == {"length": 10, "interpolator": "tim"}
    fold = json.loads((out / "folds" / "synthetic__s00.json").read_text())
    assert len(fold["y_pred"]) == 3 and len(fold["fusion_weights"]["time"]) == 9
    assert all(loss == loss for loss in fold["train_loss"])  # not NaN
    for figure in ("confusion.png", "fusion_weights.png", "time_weights.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("switch, width", [({"use_full_face": False}, 32), ({"use_local": False}, 64),
                                           ({"use_global": False}, 64)])
def test_ablation_switches_carry_over(head_cls, switch, width):
    head = head_cls(in_channels=5, num_classes=3, num_steps=3, **SMALL, **switch)
    regions, face = torch.rand(2, 3, 9, 5, 36, 36), torch.rand(2, 3, 5, 36, 36)
    assert head(regions, face).shape == (2, 3) and head.time.pos_embed.shape == (1, 3, width)
