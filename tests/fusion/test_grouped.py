"""The grouped local fusion (mezoo/fusion/grouped.py) against the loop of K fusion modules it replaced."""

import pytest
import torch
from torch import nn

from mezoo.fusion.grouped import stack_state_dict
from mezoo.fusion.transformer_fusion import FuAAttn, FuBAttn, FusionModule

HEADS = {"before": FuBAttn, "after": FuAAttn}


def _head_and_loop(kind, seed=0, depth=2):
    """A head and, from the same seed, the K = 9 FusionModules the old code built in a loop, with the
    head's local weights loaded from the loop's checkpoint (keys ``local.<k>.<name>``)."""
    torch.manual_seed(seed)
    head = HEADS[kind](in_channels=8, num_classes=3, embed_dim=64, num_heads=4, local_depth=depth)
    torch.manual_seed(seed + 1)
    loop = nn.ModuleList(FusionModule(64, 25, 4, depth, 4.0, 0.1, kind) for _ in range(9))
    state = {k: v for k, v in head.state_dict().items() if not k.startswith("local.")}
    state.update({f"local.{k}": v for k, v in loop.state_dict().items()})
    head.load_state_dict(state)  # strict: every key converted
    return head, loop


def _no_dropout(*modules):
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
            if hasattr(m, "dropout") and isinstance(m.dropout, float):
                m.dropout = 0.0


@pytest.mark.parametrize("kind", ["before", "after"])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_grouped_local_fusion_equals_the_loop(kind, mode):
    head, loop = _head_and_loop(kind)
    _no_dropout(head, loop)  # dropout draws other random numbers; batch norm is compared in train mode too
    head.train(mode == "train")
    loop.train(mode == "train")
    tokens = torch.randn(5, 9, 25, 64, requires_grad=True)
    grouped = head.local(tokens)
    looped = torch.stack([m(tokens[:, i]) for i, m in enumerate(loop)], dim=1)
    assert grouped.shape == (5, 9, 64)
    assert torch.allclose(grouped, looped, atol=1e-5)
    assert (grouped - looped).abs().max() < 1e-3 * looped.abs().max()
    weights = torch.randn_like(grouped)  # any scalar function of the output
    g_grouped = torch.autograd.grad((grouped * weights).sum(), [tokens, *head.local.parameters()])
    g_looped = torch.autograd.grad((looped * weights).sum(), [tokens, *loop.parameters()])
    assert torch.allclose(g_grouped[0], g_looped[0], atol=1e-5)
    grouped_grads = dict(zip([n for n, _ in head.local.named_parameters()], g_grouped[1:]))
    module_names = [n for n, _ in loop[0].named_parameters()]
    per_module = [dict(zip(module_names, g_looped[1 + k * len(module_names):1 + (k + 1) * len(module_names)]))
                  for k in range(9)]
    looped_grads = stack_state_dict(per_module, grouped_grads)  # the loop's gradients, stacked per region
    for name, value in grouped_grads.items():
        assert torch.allclose(value, looped_grads[name], atol=1e-4, rtol=1e-3), name
    if mode == "train" and kind == "before":  # the K batch norms' running statistics, head by head
        running = torch.cat([m.fuse.norm.running_mean for m in loop])
        assert torch.allclose(head.local.fuse.norm.running_mean, running, atol=1e-6)


def test_loop_checkpoint_loads_and_predicts_the_same():
    head, loop = _head_and_loop("before", depth=1)
    head.eval()
    torch.manual_seed(3)
    regions, face = torch.rand(2, 9, 8, 90, 90), torch.rand(2, 8, 90, 90)
    tokens = head.region_embed(regions)
    expected = torch.stack([m.eval()(tokens[:, i]) for i, m in enumerate(loop)], dim=1)
    assert torch.allclose(head.local(tokens), expected, atol=1e-5)
    # a checkpoint of the grouped head round-trips
    again = FuBAttn(in_channels=8, num_classes=3, embed_dim=64, num_heads=4).eval()
    again.load_state_dict(head.state_dict())
    assert torch.equal(again(regions, face), head(regions, face))


def test_a_checkpoint_that_does_not_fit_is_named_by_load_state_dict():
    head = FuBAttn(in_channels=8, num_classes=3, embed_dim=64, num_heads=4)
    state = head.state_dict()
    state["local.0.bogus"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="local.0.bogus"):
        head.load_state_dict(state)


def test_same_initial_weights_as_the_loop_from_one_seed():
    """The grouped head draws its initial weights as the loop did, so a seed gives the same start."""
    torch.manual_seed(7)
    head = FuBAttn(in_channels=8, num_classes=3, embed_dim=64, num_heads=4)
    torch.manual_seed(7)
    from mezoo.fusion.patch_embed import PatchEmbeds

    PatchEmbeds(9, 8, 18, 64)  # the head builds its patch embeddings first
    loop = [FusionModule(64, 25, 4, 1, 4.0, 0.1, "before") for _ in range(9)]
    assert torch.equal(head.local.blocks[0].attn.qkv.weight[4], loop[4].blocks[0].attn.qkv.weight)
    assert torch.equal(head.local.pos_embed[8], loop[8].pos_embed[0])


def test_fusion_weights_per_region():
    head = FuBAttn(in_channels=8, num_classes=3, embed_dim=64, num_heads=4).eval()
    head(torch.rand(2, 9, 8, 90, 90), torch.rand(2, 8, 90, 90))
    weights = head.fusion_weights()
    assert [k for k in weights if k.startswith("local/")] == [f"local/{i}" for i in range(9)]
    assert weights["local/3"].shape == (2, 4, 25)
    assert torch.allclose(weights["local/3"].sum(-1), torch.ones(2, 4))
