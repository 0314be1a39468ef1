"""AU boxes from landmarks, the 3x3 grid and region cropping."""

import torch

from mezoo.face import AU_REGION_NAMES, au_boxes, canonical_landmarks, crop_regions, grid3x3_boxes


def test_au_boxes_order_and_placement():
    lm = torch.as_tensor(canonical_landmarks(224))
    boxes = au_boxes(lm)
    assert boxes.shape == (9, 4) and len(AU_REGION_NAMES) == 9
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    named = dict(zip(AU_REGION_NAMES, centres))
    assert named["au1_left"][0] < named["au2"][0] < named["au1_right"][0]
    assert named["au1_left"][1] < named["au3_left"][1] < named["au5_left"][1] < named["au6"][1]
    assert named["au5_left"][0] < named["au4"][0] < named["au5_right"][0]
    # Inside the canvas across; up and down, the canvas holds the face from brows to chin
    # (mezoo.face.template), so the brow and glabella boxes, which reach onto the forehead, stick
    # out above it by at most 55 % of their height, and the chin box below it by at most 10 %.
    side = boxes[:, 3] - boxes[:, 1]
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 224).all()
    assert (boxes[3:8, 1] >= 0).all() and (boxes[3:8, 3] <= 224).all()
    assert (-boxes[:3, 1] <= 0.55 * side[:3]).all() and (boxes[:3, 3] <= 224).all()
    assert boxes[8, 1] >= 0 and boxes[8, 3] - 224 <= 0.1 * side[8]
    # Square.
    assert torch.allclose(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


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
