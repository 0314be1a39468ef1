"""The 9 AU regions of FRL-DGT (paper sec. 3.2.1, Fig. 4), the 3x3 grid of ablation M5, and cropping.

Each AU box is a square placed relative to landmarks, sized in units of the inter-ocular distance
(IOD, between the two eye centres) so that it scales with the face. "left" and "right" are the
image's left and right. The rules, in the order the fusion head sees them:

====  ==========  ========================================  =================  ===========
 #    name        anchor (68-point indices)                 offset (IOD x, y)  half side
====  ==========  ========================================  =================  ===========
 1    au1_left    mean of brow 17-21                        (0, -0.12)         0.36 IOD
 2    au1_right   mean of brow 22-26                        (0, -0.12)         0.36 IOD
 3    au2         mean of inner brow ends 21, 22, bridge 27  (0, -0.05)         0.28 IOD
 4    au3_left    mean of eye 36-41                         (0, +0.32)         0.34 IOD
 5    au3_right   mean of eye 42-47                         (0, +0.32)         0.34 IOD
 6    au4         mean of nose 29, 30, 31, 35               (0, 0)             0.32 IOD
 7    au5_left    mouth corner 48                           (-0.12, -0.08)     0.38 IOD
 8    au5_right   mouth corner 54                           (+0.12, -0.08)     0.38 IOD
 9    au6         mean of lower lip 57 and chin 8           (0, 0)             0.38 IOD
====  ==========  ========================================  =================  ===========

#1 and #2 see brow raising and frowning, #3 the lower eyelids and upper cheeks, #4 the nose,
#5 the mouth corners and cheeks, #6 the chin and lower lip, as the paper describes. The brow
boxes reach about half an IOD above the brows (forehead wrinkles of AU1/AU2); the chin box may
reach a little under the chin when the mouth is open.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

AU_REGION_NAMES = (
    "au1_left", "au1_right", "au2", "au3_left", "au3_right", "au4", "au5_left", "au5_right", "au6",
)
GRID3X3_NAMES = tuple(f"grid_{r}{c}" for r in range(3) for c in range(3))

# (anchor landmark indices, offset in IOD units, half side in IOD units), in AU_REGION_NAMES order.
_AU_RULES: tuple[tuple[tuple[int, ...], tuple[float, float], float], ...] = (
    (tuple(range(17, 22)), (0.0, -0.12), 0.36),
    (tuple(range(22, 27)), (0.0, -0.12), 0.36),
    ((21, 22, 27), (0.0, -0.05), 0.28),
    (tuple(range(36, 42)), (0.0, 0.32), 0.34),
    (tuple(range(42, 48)), (0.0, 0.32), 0.34),
    ((29, 30, 31, 35), (0.0, 0.0), 0.32),
    ((48,), (-0.12, -0.08), 0.38),
    ((54,), (0.12, -0.08), 0.38),
    ((57, 8), (0.0, 0.0), 0.38),
)


def au_boxes(landmarks: torch.Tensor) -> torch.Tensor:
    """The 9 AU boxes of each face.

    Args:
        landmarks: ``(B, 68, 2)`` or ``(68, 2)`` pixel coordinates (x, y), dlib order.

    Returns:
        ``(B, 9, 4)`` (or ``(9, 4)``) boxes ``x1, y1, x2, y2`` in pixels, in ``AU_REGION_NAMES`` order.

    Example:
        >>> from mezoo.face import canonical_landmarks
        >>> au_boxes(torch.as_tensor(canonical_landmarks(224))).shape
        torch.Size([9, 4])
    """
    single = landmarks.dim() == 2
    lm = landmarks[None] if single else landmarks
    lm = lm.to(torch.float32)
    eye_l = lm[:, 36:42].mean(1)
    eye_r = lm[:, 42:48].mean(1)
    iod = (eye_r - eye_l).norm(dim=-1).clamp_min(1.0)  # (B,)
    boxes = []
    for anchor, (dx, dy), half in _AU_RULES:
        centre = lm[:, list(anchor)].mean(1)
        centre = centre + torch.stack([dx * iod, dy * iod], dim=-1)
        h = (half * iod)[:, None]
        boxes.append(torch.cat([centre - h, centre + h], dim=-1))
    out = torch.stack(boxes, dim=1)
    return out[0] if single else out


def grid3x3_boxes(height: int, width: int, batch: int = 1, device: torch.device | None = None) -> torch.Tensor:
    """Nine even patches of the whole face, row by row (ablation M5).

    Returns:
        ``(batch, 9, 4)`` boxes ``x1, y1, x2, y2`` in pixels.
    """
    xs = torch.linspace(0, width, 4, device=device)
    ys = torch.linspace(0, height, 4, device=device)
    boxes = torch.tensor(
        [[xs[c], ys[r], xs[c + 1], ys[r + 1]] for r in range(3) for c in range(3)], device=device
    )
    return boxes[None].expand(batch, 9, 4).clone()


def region_boxes(kind: str, landmarks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Boxes of the region layout ``kind`` (``au9`` or ``grid3x3``) for a batch of faces.

    Args:
        landmarks: ``(B, 68, 2)``; ignored by ``grid3x3``.

    Returns:
        ``(B, 9, 4)`` boxes.
    """
    if kind == "au9":
        return au_boxes(landmarks)
    if kind == "grid3x3":
        return grid3x3_boxes(height, width, landmarks.shape[0], landmarks.device)
    from mezoo.errors import ConfigError

    raise ConfigError(f"unknown regions.kind {kind!r}; expected one of: au9, grid3x3")


def crop_regions(image: torch.Tensor, boxes: torch.Tensor, size: int = 90) -> torch.Tensor:
    """Crop every box of every image and resize it to ``size`` x ``size`` (bilinear).

    Box corners map to the corner pixel centres of the crop (as kornia's ``crop_and_resize``,
    which this matches to float precision): output pixel ``u`` samples ``x1 + u (x2 - 1 - x1) /
    (size - 1)``. Parts of a box outside the image read as zeros. The boxes are axis-aligned, so
    the sampling grid is built directly and all K boxes of an image are read by one
    ``grid_sample`` (a grid of K crops stacked), with no copies of the image: 12 ms instead of
    kornia's 9 perspective warps (~40 ms, half of it solving for their transforms) at batch 32.

    Args:
        image: ``(B, M, H, W)``.
        boxes: ``(B, K, 4)`` ``x1, y1, x2, y2`` in pixels.

    Returns:
        ``(B, K, M, size, size)``.
    """
    b, k = boxes.shape[:2]
    h, w = image.shape[-2:]
    x1, y1, x2, y2 = boxes.to(image.dtype).unbind(-1)  # each (B, K)
    steps = torch.linspace(0.0, 1.0, size, dtype=image.dtype, device=image.device)
    # pixel centres, normalised for align_corners=True: -1 and 1 are the first and last pixel
    xs = (x1[..., None] + steps * (x2 - 1 - x1)[..., None]) * (2 / max(w - 1, 1)) - 1  # (B, K, S)
    ys = (y1[..., None] + steps * (y2 - 1 - y1)[..., None]) * (2 / max(h - 1, 1)) - 1
    grid = torch.stack(torch.broadcast_tensors(xs[:, :, None, :], ys[:, :, :, None]), dim=-1)  # (B, K, S, S, 2)
    crops = F.grid_sample(image, grid.reshape(b, k * size, size, 2), mode="bilinear", padding_mode="zeros",
                          align_corners=True)  # (B, M, K * S, S)
    return crops.view(b, image.shape[1], k, size, size).transpose(1, 2).contiguous()


def box_validity(mask: torch.Tensor, boxes: torch.Tensor, size: int = 32) -> torch.Tensor:
    """How much of each box holds real pixels: the mean of the validity mask cropped like
    :func:`crop_regions` (a box's part outside the canvas counts as invalid).

    Args:
        mask: ``(B, 1, H, W)``, 1 where the calibrated pixel comes from the source image.
        boxes: ``(B, K, 4)`` ``x1, y1, x2, y2`` in pixels.

    Returns:
        ``(B, K)`` fractions in ``[0, 1]``.

    Example:
        >>> mask = torch.zeros(1, 1, 100, 100); mask[..., 50:, :] = 1
        >>> box_validity(mask, torch.tensor([[[0.0, 25.0, 50.0, 75.0]]]))
        tensor([[0.5000]])
    """
    return crop_regions(mask.float(), boxes, size).mean(dim=(2, 3, 4))
