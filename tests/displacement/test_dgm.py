"""The Displacement Generation Module: shapes, range, self-supervised fit, gradient scaling."""

import cv2
import numpy as np
import pytest
import torch

from mezoo.displacement import DGM
from mezoo.fusion import FuBAttn
from mezoo.model import FRLDGT


def _textured_pair(shift, size=64, n=8, seed=0):
    rng = np.random.default_rng(seed)
    firsts, seconds = [], []
    for _ in range(n):
        img = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 1.5)
        img = (img - img.min()) / (img.max() - img.min())
        m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
        moved = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        firsts.append(img)
        seconds.append(moved)
    return torch.from_numpy(np.stack(firsts))[:, None], torch.from_numpy(np.stack(seconds))[:, None]


def test_shapes_range_and_normalisation(device):
    dgm = DGM(width=4, levels=2).to(device)
    onset, apex = torch.rand(2, 3, 32, 48, device=device), torch.rand(2, 3, 32, 48, device=device)
    d = dgm.displacement(onset, apex)
    assert d.shape == (2, 2, 32, 48)
    # alpha = 0.2 of the half-size, in pixels
    assert d[:, 0].abs().max() <= 0.2 * 47 / 2 + 1e-5 and d[:, 1].abs().max() <= 0.2 * 31 / 2 + 1e-5
    assert torch.count_nonzero(d) == 0  # the head starts at zero: no motion before training
    with torch.no_grad():
        dgm.head.bias.fill_(0.5)
    out = dgm(onset, apex)
    assert torch.allclose(out.pow(2).sum(1).mean((1, 2)).sqrt(), torch.ones(2, device=device), atol=1e-4)


def test_rejects_sizes_the_encoder_cannot_halve():
    with pytest.raises(ValueError, match="not divisible by 2\\*\\*levels = 8"):
        DGM(levels=3).displacement(torch.rand(1, 1, 30, 30), torch.rand(1, 1, 30, 30))


@pytest.mark.parametrize("shift", [(1.5, 0.0), (0.0, -1.5)])
def test_self_supervised_fit_recovers_a_translation(shift):
    torch.manual_seed(0)
    first, second = _textured_pair(shift)
    dgm = DGM(width=8, levels=2)
    opt = torch.optim.Adam(dgm.parameters(), lr=0.002)
    for _ in range(150):
        loss = dgm.pair_loss(first, second)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dgm.eval()
    with torch.no_grad():
        test_first, test_second = _textured_pair(shift, seed=1, n=2)
        d = dgm.displacement(test_first, test_second)[..., 12:-12, 12:-12].mean((0, 2, 3))
    axis = 0 if shift[0] else 1
    assert np.sign(d[axis].item()) == np.sign(shift[axis]) and abs(d[axis].item()) > 0.5, d
    assert abs(d[1 - axis].item()) < 0.5 * abs(d[axis].item()), d


def test_classification_gradient_reaching_the_dgm_is_scaled():
    onset, apex = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    landmarks = torch.rand(4, 68, 2) * 20 + 6
    grads = {}
    for scale in (1.0, 1e-6):
        torch.manual_seed(0)
        dgm = DGM(width=4, levels=2, cls_grad_scale=scale)
        with torch.no_grad():
            dgm.head.bias.fill_(0.1)  # a non-zero displacement, so the gradient is not trivial
        head = FuBAttn(in_channels=8, num_classes=3, region_size=18, face_size=18, embed_dim=16, num_heads=2)
        model = FRLDGT(dgm, head, region_size=18, full_face_size=18).train()
        logits, dgm_loss = model.training_step(onset, apex, landmarks)
        torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()  # no L_DGM
        grads[scale] = torch.cat([p.grad.flatten() for p in dgm.parameters() if p.grad is not None])
        assert dgm_loss is not None and dgm_loss.item() > 0
    assert grads[1.0].abs().max() > 0
    assert torch.allclose(grads[1e-6], grads[1.0] * 1e-6, rtol=1e-4, atol=1e-14)


def test_no_self_supervision_is_ablation_m3():
    dgm = DGM(self_supervised=False)
    assert dgm.pairs_per_clip == 0 and dgm.warmup_steps == 0 and dgm.trainable
