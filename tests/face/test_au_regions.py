"""AU boxes from landmarks, the 3x3 grid and region cropping."""

import torch

import pytest

from mezoo.face import AU_REGION_NAMES, au_boxes, box_validity, canonical_landmarks, crop_regions, grid3x3_boxes
from mezoo.face.au_regions import FRAME


def test_au_boxes_order_and_placement():
    lm = torch.as_tensor(canonical_landmarks(224))
    boxes = au_boxes(lm, canvas=(224, 224))
    assert boxes.shape == (9, 4) and len(AU_REGION_NAMES) == 9
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    named = dict(zip(AU_REGION_NAMES, centres))
    assert named["au1_left"][0] < named["au2"][0] < named["au1_right"][0]
    assert named["au1_left"][1] < named["au3_left"][1] < named["au5_left"][1] < named["au6"][1]
    assert named["au5_left"][0] < named["au4"][0] < named["au5_right"][0]
    # every box in the face's frame: from the canvas top (the brow top) down, inside the width
    # CASME II's crops keep
    x0, y0, x1, y1 = (v * 224 for v in FRAME)
    assert (boxes[:, 0] >= x0 - 1e-3).all() and (boxes[:, 2] <= x1 + 1e-3).all()
    assert (boxes[:, 1] >= y0 - 1e-3).all() and (boxes[:, 3] <= y1 + 1e-3).all()
    # the brow and glabella boxes start at the brow top and hold the brows and the eyes' tops
    assert torch.allclose(boxes[:3, 1], torch.zeros(3), atol=1e-3)
    assert (boxes[:3, 3] > lm[36:48, 1].max()).all()
    # the chin box holds the lower lip and ends at the canvas's bottom
    assert boxes[8, 1] < lm[57, 1] and boxes[8, 3] == pytest.approx(224, abs=1e-3)
    # without a canvas: the landmark rules alone (the brow boxes centred on the brows)
    free = au_boxes(lm)
    assert torch.allclose((free[0, 1] + free[0, 3]) / 2, lm[17:22, 1].mean().float(), atol=1e-3)


def test_boxes_move_onto_recorded_pixels_and_keep_their_size():
    lm = torch.as_tensor(canonical_landmarks(224), dtype=torch.float32)[None]
    mask = torch.ones(1, 1, 224, 224)
    mask[..., :, :24] = 0  # the crop cuts the left cheek
    mask[..., :12, 150:] = 0  # and a tilted corner
    framed = au_boxes(lm, canvas=(224, 224))
    placed = au_boxes(lm, mask=mask)
    before, after = box_validity(mask, framed)[0], box_validity(mask, placed)[0]
    assert before.min() < 0.9  # the case under test: boxes off the recorded pixels
    assert after.min() >= 0.98  # (99 % on whole pixels; the bilinear crop of the mask reads a little less)
    assert torch.allclose(placed[..., 2:] - placed[..., :2], framed[..., 2:] - framed[..., :2])
    # a box already on recorded pixels does not move; one that was off moves by at most a quarter
    still = before >= 0.99
    assert torch.equal(placed[0, still], framed[0, still])
    size = framed[0, :, 2:] - framed[0, :, :2]
    assert ((placed[0, :, :2] - framed[0, :, :2]).abs() <= 0.25 * size + 2).all()
    # on a fully recorded canvas nothing moves
    assert torch.equal(au_boxes(lm, mask=torch.ones(1, 1, 224, 224)), framed)


def test_au_boxes_follow_the_face():
    lm = torch.as_tensor(canonical_landmarks(224), dtype=torch.float32)
    moved = lm * 0.5 + torch.tensor([10.0, 20.0])
    assert torch.allclose(au_boxes(moved), au_boxes(lm) * 0.5 + torch.tensor([10.0, 20.0, 10.0, 20.0]), atol=1e-4)
    batch = au_boxes(torch.stack([lm, moved]))
    assert batch.shape == (2, 9, 4)


def test_grid3x3_covers_the_image():
    boxes = grid3x3_boxes(90, 120, batch=2)
    assert boxes.shape == (2, 9, 4)
    assert boxes[0, 0].tolist() == [0, 0, 40, 30] and boxes[0, 8].tolist() == [80, 60, 120, 90]


def test_crop_regions_reads_the_right_pixels():
    h = w = 64
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    image = torch.stack([xs, ys])[None]  # channel 0 = x, channel 1 = y
    boxes = torch.tensor([[[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 64.0, 64.0]]])
    crops = crop_regions(image, boxes, size=20)
    assert crops.shape == (1, 2, 2, 20, 20)
    # A 20 px box resized to 20 px is a plain copy.
    assert torch.allclose(crops[0, 0, 0], xs[20:40, 10:30], atol=1e-4)
    assert torch.allclose(crops[0, 0, 1], ys[20:40, 10:30], atol=1e-4)
    whole = crops[0, 1]
    assert whole[0, 0, 0].item() == 0 and abs(whole[0, -1, -1].item() - 63) < 1e-3


def test_crop_regions_match_a_perspective_crop_of_each_box():
    """The direct sampling grid gives kornia's crop_and_resize (corners to corner pixel centres,
    zeros outside the image), box by box, also for boxes reaching past the image."""
    from kornia.geometry.transform import crop_and_resize

    torch.manual_seed(1)
    image = torch.rand(4, 3, 120, 100)
    x1, y1 = torch.rand(4, 5) * 90 - 15, torch.rand(4, 5) * 100 - 15
    side = torch.rand(4, 5) * 50 + 10
    boxes = torch.stack([x1, y1, x1 + side, y1 + 1.2 * side], -1)
    crops = crop_regions(image, boxes, size=32)
    for k in range(5):
        a, b, c, d = boxes[:, k].unbind(-1)
        corners = torch.stack([torch.stack(p, -1) for p in ((a, b), (c - 1, b), (c - 1, d - 1), (a, d - 1))], 1)
        assert torch.allclose(crops[:, k], crop_and_resize(image, corners, (32, 32)), atol=1e-4)


def test_crop_regions_same_for_one_face_and_for_a_batch():
    torch.manual_seed(0)
    image = torch.rand(3, 8, 224, 224)
    landmarks = torch.as_tensor(canonical_landmarks(224), dtype=torch.float32) + torch.randn(3, 68, 2)
    boxes = au_boxes(landmarks)
    together = crop_regions(image, boxes, 90)
    assert together.shape == (3, 9, 8, 90, 90)
    for i in range(3):
        assert torch.equal(crop_regions(image[i:i + 1], boxes[i:i + 1], 90)[0], together[i])
