"""Every registered fusion head: shapes, no NaN, backward; Fu-B-Attn's own properties."""

import inspect

import pytest
import torch

from mezoo import plugins
from mezoo.fusion import FuBAttn, LinearFusionAfterAttention, LinearFusionBeforeAttention


@pytest.mark.parametrize("name", plugins.names("fusion"))
def test_every_fusion_head_forward_backward(name, device):
    torch.manual_seed(0)
    sequence = getattr(plugins.get("fusion", name), "sequence", False)
    steps = {"num_steps": 3} if sequence else {}  # a sequence head's inputs have a time axis
    time = (3,) if sequence else ()
    takes = inspect.signature(plugins.get("fusion", name)).parameters  # small Transformer sizes, for heads with them
    small = {k: v for k, v in {"embed_dim": 32, "num_heads": 4, "patch_size": 18}.items() if k in takes}
    head = plugins.make("fusion", name, in_channels=8, num_classes=3, num_regions=9, region_size=36,
                        face_size=54, **small, **steps).to(device)
    regions = torch.randn(4, *time, 9, 8, 36, 36, device=device)
    face = torch.randn(4, *time, 8, 54, 54, device=device)
    out = head(regions if head.uses_regions else None, face)
    assert out.shape == (4, 3) and torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in head.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_fusion_layer_with_equal_weights_is_averaging(device):
    torch.manual_seed(0)
    layer = LinearFusionBeforeAttention(16, num_tokens=5, num_heads=2).to(device).eval()
    x = torch.randn(3, 5, 16, device=device)
    # Lin starts with equal weights: the fused query is the mean of the m queries (paper eq. 5).
    q, k, v = layer.qkv(x).reshape(3, 5, 3, 2, 8).permute(2, 0, 3, 1, 4)
    assert torch.allclose(layer.query_mix, torch.full((2, 5), 0.2, device=device))
    logits = torch.einsum("bhc,bhnc->bhn", q.mean(2), k)
    expected = (layer.norm(logits).softmax(-1)[..., None] * v).sum(2).reshape(3, 16)
    assert torch.allclose(layer(x), expected, atol=1e-5)
    # With zero queries every key weighs the same, and the layer averages the values.
    with torch.no_grad():
        layer.qkv.weight[:16] = 0
        layer.qkv.bias[:16] = 0
    out = layer(x)
    assert torch.allclose(layer.last_weights, torch.full((3, 2, 5), 0.2, device=device))
    assert torch.allclose(out, v.mean(2).reshape(3, 16), atol=1e-5)


def test_fusion_layer_matches_eq5_with_learned_weights(device):
    """Mixing tokens before the query projection (the fast path) equals eq. 5 as written:
    project every token to a query, then mix the m queries with Lin; outputs and gradients."""
    torch.manual_seed(1)
    layer = LinearFusionBeforeAttention(32, num_tokens=6, num_heads=4).to(device).eval()
    with torch.no_grad():
        layer.query_mix.copy_(torch.randn(4, 6, device=device))
    x = torch.randn(5, 6, 32, device=device, requires_grad=True)

    def as_written(x):
        q, k, v = layer.qkv(x).reshape(5, 6, 3, 4, 8).permute(2, 0, 3, 1, 4)
        query = torch.einsum("hn,bhnc->bhc", layer.query_mix, q)
        logits = torch.einsum("bhc,bhnc->bhn", query, k)
        return torch.einsum("bhn,bhnc->bhc", layer.norm(logits).softmax(-1), v).reshape(5, 32)

    fast, slow = layer(x), as_written(x)
    assert torch.allclose(fast, slow, atol=1e-5)
    g_fast = torch.autograd.grad(fast.square().sum(), [x, layer.query_mix, layer.qkv.weight])
    g_slow = torch.autograd.grad(slow.square().sum(), [x, layer.query_mix, layer.qkv.weight])
    for a, b in zip(g_fast, g_slow):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


def test_parameter_shapes_follow_c_h_n():
    head = FuBAttn(in_channels=8, num_classes=3, embed_dim=64, num_heads=4, patch_size=18, region_size=90,
                   face_size=90)
    local = head.local  # the K = 9 local modules, grouped: a leading region axis
    assert local.pos_embed.shape == (9, 25, 64)  # N = (90 / 18)^2
    assert local.fuse.query_mix.shape == (9, 4, 25)  # h x m per region
    assert local.fuse.qkv.weight.shape == (9, 3 * 64, 64)
    assert local.fuse.norm.num_features == 9 * 4
    assert head.global_.fuse.query_mix.shape == (4, 9)  # over the K = 9 AU vectors
    assert head.region_embed.weight.shape == (9, 64, 8 * 18 * 18)  # one patch embedding per AU
    assert head.local.groups == 9


def test_patch_embeds_equal_one_strided_convolution_per_region():
    from mezoo.fusion.patch_embed import PatchEmbeds

    torch.manual_seed(0)
    embed = PatchEmbeds(3, in_channels=4, patch_size=6, dim=16)
    x = torch.randn(2, 3, 4, 18, 18)
    out = embed(x)
    assert out.shape == (2, 3, 9, 16)
    for k in range(3):
        conv = torch.nn.functional.conv2d(x[:, k], embed.weight[k].reshape(16, 4, 6, 6), embed.bias[k], stride=6)
        assert torch.allclose(out[:, k], conv.flatten(2).transpose(1, 2), atol=1e-5)


def test_fu_a_attn_maps_n_by_c_to_c():
    layer = LinearFusionAfterAttention(32, num_tokens=25, num_heads=4)
    assert layer.proj.in_features == 25 * 32 and layer.proj.out_features == 32
    assert layer(torch.randn(2, 25, 32)).shape == (2, 32)


@pytest.mark.parametrize("switches", [
    {"use_full_face": False}, {"use_local": False}, {"use_global": False},
])
def test_ablation_switches(switches):
    head = FuBAttn(in_channels=4, num_classes=3, region_size=36, face_size=36, embed_dim=32, num_heads=4,
                   **switches)
    out = head(torch.randn(2, 9, 4, 36, 36), torch.randn(2, 4, 36, 36))
    assert out.shape == (2, 3)
    assert hasattr(head, "face") == switches.get("use_full_face", True)
    assert hasattr(head, "local") == switches.get("use_local", True)
    assert hasattr(head, "global_") == switches.get("use_global", True)


def test_fusion_weights_are_probabilities():
    head = FuBAttn(in_channels=4, num_classes=3, region_size=36, face_size=36, embed_dim=32, num_heads=4).eval()
    head(torch.randn(2, 9, 4, 36, 36), torch.randn(2, 4, 36, 36))
    weights = head.fusion_weights()
    assert set(weights) == {f"local/{i}" for i in range(9)} | {"global", "face"}
    assert weights["global"].shape == (2, 4, 9)
    assert torch.allclose(weights["global"].sum(-1), torch.ones(2, 4))
