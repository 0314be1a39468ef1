"""Augmentation keeps frames, displacement and landmarks consistent."""

import pytest
import torch

from mezoo.augment import MIRROR_68, Augment, affine, hflip
from mezoo.displacement import warp_by_displacement
from mezoo.face import au_boxes, canonical_landmarks


def _scene(shift=(1.0, -0.5), size=64):
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")

    def image(dx, dy):
        x, y = xs - dx, ys - dy
        return (torch.sin(x / 5.0) * torch.cos(y / 7.0) + 0.3 * torch.sin((x + 2 * y) / 11.0))[None, None]

    onset, apex = image(0, 0), image(*shift)
    d = torch.tensor(shift)[None, :, None, None].expand(1, 2, size, size)
    return torch.cat([onset, apex, d], dim=1)  # (1, 4, H, W): onset, apex, D


def _error(stack):
    """How far the displacement is from explaining onset -> apex (max abs error, interior)."""
    onset, apex, d = stack[:, :1], stack[:, 1:2], stack[:, 2:]
    inner = (..., slice(12, -12), slice(12, -12))
    return (warp_by_displacement(onset, d)[inner] - apex[inner]).abs().max().item()


def _consistent(stack, atol):
    return _error(stack) < atol


def test_mirror_table_is_an_involution():
    assert sorted(MIRROR_68) == list(range(68))
    assert [MIRROR_68[i] for i in MIRROR_68] == list(range(68))


def test_flip_keeps_displacement_and_regions_consistent():
    stack = _scene()
    lm = torch.as_tensor(canonical_landmarks(64), dtype=torch.float32)[None]
    flipped, lm2 = hflip(stack, lm, slice(2, 4), torch.tensor([True]))
    assert _consistent(stack, 0.05) and _consistent(flipped, 0.05)
    assert torch.allclose(flipped[0, 2], -torch.ones(64, 64))  # x component negated
    before, after = au_boxes(lm)[0], au_boxes(lm2)[0]
    # au1_left after the flip is the mirror image of au1_right before it.
    assert torch.allclose(after[0], torch.tensor([63 - before[1, 2], before[1, 1], 63 - before[1, 0], before[1, 3]]),
                          atol=1e-4)
    back, lm3 = hflip(flipped, lm2, slice(2, 4), torch.tensor([True]))
    assert torch.allclose(back, stack) and torch.allclose(lm3, lm)
    same, lm4 = hflip(stack, lm, slice(2, 4), torch.tensor([False]))
    assert torch.equal(same, stack) and torch.equal(lm4, lm)


@pytest.mark.parametrize("angle,scale", [(90.0, 1.0), (-20.0, 1.0), (10.0, 1.1)])
def test_affine_rotates_displacement_vectors(angle, scale):
    stack = _scene()
    out, _ = affine(stack, torch.zeros(1, 68, 2), slice(2, 4), torch.tensor([angle]), torch.tensor([scale]),
                    torch.zeros(1, 2))
    assert _consistent(out, 0.08)
    # Warped but not rotated as vectors, the displacement would explain the motion worse.
    wrong = out.clone()
    wrong[:, 2:] = stack[:, 2:]
    assert _error(out) < 0.5 * _error(wrong)


def test_affine_moves_landmarks_with_the_image():
    image = torch.zeros(1, 1, 64, 64)
    image[0, 0, 20, 40] = 1.0  # a dot at x = 40, y = 20
    lm = torch.zeros(1, 68, 2)
    lm[0, 0] = torch.tensor([40.0, 20.0])
    out, lm2 = affine(image, lm, None, torch.tensor([30.0]), torch.tensor([1.0]), torch.tensor([[3.0, -2.0]]))
    y, x = divmod(int(out[0, 0].argmax()), 64)
    assert abs(x - lm2[0, 0, 0].item()) <= 1 and abs(y - lm2[0, 0, 1].item()) <= 1


def test_augment_is_seeded_and_can_be_off():
    stack = _scene().expand(4, 4, 64, 64).contiguous()
    lm = torch.as_tensor(canonical_landmarks(64), dtype=torch.float32)[None].expand(4, 68, 2)
    aug = Augment(hflip=0.5, rotate=5, scale=0.05, translate=0.03)
    a = aug(stack, lm, slice(2, 4), torch.Generator().manual_seed(1))
    b = aug(stack, lm, slice(2, 4), torch.Generator().manual_seed(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], stack)
    off = Augment(0, 0, 0, 0)
    assert not off.active
    assert torch.equal(off(stack, lm, slice(2, 4), torch.Generator())[0], stack)


def test_motion_magnification_magnifies_motion_and_scales_displacement():
    from mezoo.augment import MotionMagnification
    from mezoo.displacement import farneback_flow

    stack = _scene(shift=(0.5, 0.0), size=96)
    onset, apex, d = (stack[:, :1] + 1.5) / 3, (stack[:, 1:2] + 1.5) / 3, stack[:, 2:]  # frames in [0, 1]
    mag = MotionMagnification(p=1.0, alpha=(2.0, 2.0), sigma=0.5)
    onset2, apex2, d2, _ = mag(onset, apex, d, torch.zeros(1, 68, 2), True, torch.Generator().manual_seed(0))
    assert torch.equal(onset2, onset) and torch.allclose(d2, 3 * d)
    inner = (0, 0, slice(20, -20), slice(20, -20))
    before = farneback_flow(onset, apex)[inner].median().item()
    after = farneback_flow(onset, apex2)[inner].median().item()
    assert before == pytest.approx(0.5, abs=0.1)
    assert after == pytest.approx(1.5, abs=0.3)  # 1 + a = 3 times the motion
    never = MotionMagnification(p=0.0)
    assert torch.equal(never(onset, apex, d, torch.zeros(1, 68, 2), True, torch.Generator())[1], apex)
