"""mezoo's Transformer layers are timm's ViT layers, written here: the same parameters, the same
initialisation from the same seed, the same outputs bit for bit (and so every checkpoint made with
timm's layers loads and predicts as before)."""

import pytest
import torch

from mezoo.fusion.attention import AttnBlock, MultiHeadAttention, TransformerLayer, trunc_normal_

timm_vit = pytest.importorskip("timm.models.vision_transformer")
timm_layers = pytest.importorskip("timm.layers")


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_layer_is_timms_vit_block(mode):
    torch.manual_seed(0)
    theirs = timm_vit.Block(48, 4, mlp_ratio=4.0, qkv_bias=True, proj_drop=0.1)
    torch.manual_seed(0)
    ours = TransformerLayer(48, 4, mlp_ratio=4.0, qkv_bias=True, proj_drop=0.1)
    a, b = theirs.state_dict(), ours.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    getattr(theirs, mode)(), getattr(ours, mode)()
    x = torch.randn(3, 11, 48, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    expected = theirs(x)
    torch.manual_seed(5)  # the same dropout draws in training
    assert torch.equal(ours(x), expected)


def test_attention_is_timms_attention():
    torch.manual_seed(0)
    theirs = timm_layers.Attention(32, num_heads=8, qkv_bias=True)
    torch.manual_seed(0)
    ours = MultiHeadAttention(32, num_heads=8, qkv_bias=True)
    assert list(theirs.state_dict()) == list(ours.state_dict())
    x = torch.randn(2, 7, 32)
    assert torch.equal(ours(x), theirs(x))


def test_a_block_loads_weights_saved_from_timm_layers():
    torch.manual_seed(2)
    saved = torch.nn.Sequential(*[timm_vit.Block(32, 4, qkv_bias=True) for _ in range(2)]).eval()
    block = AttnBlock(32, num_heads=4, depth=2).eval()
    block.load_state_dict(saved.state_dict())  # strict: every key matches
    x = torch.randn(4, 6, 32)
    assert torch.equal(block(x), saved(x))


def test_truncated_normal_draws_as_timm_does():
    torch.manual_seed(3)
    theirs = timm_layers.trunc_normal_(torch.empty(1, 26, 64), std=0.02)
    torch.manual_seed(3)
    assert torch.equal(trunc_normal_(torch.empty(1, 26, 64), std=0.02), theirs)


def test_heads_other_than_vit_grid_import_no_timm():
    import subprocess
    import sys

    code = ("import sys; from mezoo.settings import load_settings; from mezoo.model import build_model; "
            "build_model(load_settings(overrides={'fusion': {'name': 'fu_a_attn'}}), 3); "
            "build_model(load_settings(), 3); print('timm' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
