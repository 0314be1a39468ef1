"""The 9 AU regions of FRL-DGT (paper sec. 3.2.1, Fig. 4), the 3x3 grid of ablation M5, and cropping.

Each AU box is a rectangle placed relative to landmarks, sized in units of the inter-ocular
distance (IOD, between the two eye centres) so that it scales with the face. "left" and "right"
are the image's left and right. The rules, in the order the fusion head sees them:

====  ==========  ========================================  =================  ==================
 #    name        anchor (68-point indices)                 offset (IOD x, y)  half width, height
====  ==========  ========================================  =================  ==================
 1    au1_left    mean of brow 17-21                        (0, 0)             0.36, 0.26 IOD
 2    au1_right   mean of brow 22-26                        (0, 0)             0.36, 0.26 IOD
 3    au2         mean of inner brow ends 21, 22, bridge 27  (0, 0)             0.26, 0.26 IOD
 4    au3_left    mean of eye 36-41                         (0, +0.32)         0.34, 0.34 IOD
 5    au3_right   mean of eye 42-47                         (0, +0.32)         0.34, 0.34 IOD
 6    au4         mean of nose 29, 30, 31, 35               (0, 0)             0.32, 0.32 IOD
 7    au5_left    mouth corner 48                           (-0.12, -0.08)     0.38, 0.38 IOD
 8    au5_right   mouth corner 54                           (+0.12, -0.08)     0.38, 0.38 IOD
 9    au6         mean of lower lip 57 and chin 8           (0, 0)             0.38, 0.30 IOD
====  ==========  ========================================  =================  ==================

#1 and #2 see brow raising and frowning, #3 the lower eyelids and upper cheeks, #4 the nose,
#5 the mouth corners and cheeks, #6 the chin and lower lip, as the paper describes.

Two more steps keep every box on pixels that a release records (on a canvas; :func:`au_boxes`
with ``canvas`` or ``mask``):

1. **The face's frame.** A box is moved, by the least amount, into the part of the canvas that
   every release records (:data:`FRAME`): from the canvas's top edge, which is the top of the
   brows (:mod:`mezoo.face.template`), to its bottom, and across the middle 0.93 of it (the
   0.82 face heights that CASME II's crops keep). Nothing above the brows is recorded by CASME II
   or the MEGC2019 composite, so the brow and glabella boxes start at the brow top and hold the
   brows and upper eyelids (the paper's own Fig. 4 crops, from CASME II, show no forehead
   either); the chin box ends at the canvas's bottom edge, just above the chin tip.
2. **The recorded pixels.** Where a clip's validity mask says part of a box is not recorded (the
   corners of a tilted crop), the box is moved by the least amount, up to a quarter of its size
   each way, that puts as much of it as can be (at least 99 %) on recorded pixels.

A box never changes size, so each region is seen at the same scale on every face.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mezoo.face.template import SPAN

AU_REGION_NAMES = (
    "au1_left", "au1_right", "au2", "au3_left", "au3_right", "au4", "au5_left", "au5_right", "au6",
)
GRID3X3_NAMES = tuple(f"grid_{r}{c}" for r in range(3) for c in range(3))

# (anchor landmark indices, offset in IOD units, half width and height in IOD units), in
# AU_REGION_NAMES order.
_AU_RULES: tuple[tuple[tuple[int, ...], tuple[float, float], tuple[float, float]], ...] = (
    (tuple(range(17, 22)), (0.0, 0.0), (0.36, 0.26)),
    (tuple(range(22, 27)), (0.0, 0.0), (0.36, 0.26)),
    ((21, 22, 27), (0.0, 0.0), (0.26, 0.26)),
    (tuple(range(36, 42)), (0.0, 0.32), (0.34, 0.34)),
    (tuple(range(42, 48)), (0.0, 0.32), (0.34, 0.34)),
    ((29, 30, 31, 35), (0.0, 0.0), (0.32, 0.32)),
    ((48,), (-0.12, -0.08), (0.38, 0.38)),
    ((54,), (0.12, -0.08), (0.38, 0.38)),
    ((57, 8), (0.0, 0.0), (0.38, 0.30)),
)

#: How wide CASME II's ``Cropped/`` faces are, in face heights (brow top to chin).
RECORDED_WIDTH = 0.82

#: The face's frame on a canvas, as fractions of its width and height (x1, y1, x2, y2): the part
#: every release records (see the module docstring): the middle RECORDED_WIDTH face heights of a
#: canvas :data:`mezoo.face.template.SPAN` face heights across, top to bottom.
FRAME = ((1 - RECORDED_WIDTH / SPAN) / 2, 0.0, (1 + RECORDED_WIDTH / SPAN) / 2, 1.0)

#: A box already this much on recorded pixels stays where the frame put it.
RECORDED_ENOUGH = 0.99


def au_boxes(landmarks: torch.Tensor, canvas: tuple[int, int] | None = None,
             mask: torch.Tensor | None = None) -> torch.Tensor:
    """The 9 AU boxes of each face (see the module docstring).

    Args:
        landmarks: ``(B, 68, 2)`` or ``(68, 2)`` pixel coordinates (x, y), dlib order.
        canvas: ``(height, width)`` of the calibrated canvas the landmarks are on: the boxes
            are moved into its :data:`FRAME`. ``None`` (and no ``mask``): the landmark rules alone.
        mask: ``(B, 1, H, W)`` validity mask of the canvas (1 where a pixel was recorded): the
            boxes are also moved onto recorded pixels (:func:`place_on_recorded`); implies
            ``canvas``.

    Returns:
        ``(B, 9, 4)`` (or ``(9, 4)``) boxes ``x1, y1, x2, y2`` in pixels, in ``AU_REGION_NAMES`` order.

    Example:
        >>> from mezoo.face import canonical_landmarks
        >>> au_boxes(torch.as_tensor(canonical_landmarks(224)), canvas=(224, 224))[:2].round().tolist()
        [[8.0, 0.0, 92.0, 61.0], [132.0, 0.0, 216.0, 61.0]]
    """
    single = landmarks.dim() == 2
    lm = landmarks[None] if single else landmarks
    lm = lm.to(torch.float32)
    eye_l = lm[:, 36:42].mean(1)
    eye_r = lm[:, 42:48].mean(1)
    iod = (eye_r - eye_l).norm(dim=-1).clamp_min(1.0)  # (B,)
    boxes = []
    for anchor, (dx, dy), (hw, hh) in _AU_RULES:
        centre = lm[:, list(anchor)].mean(1)
        centre = centre + torch.stack([dx * iod, dy * iod], dim=-1)
        half = torch.stack([hw * iod, hh * iod], dim=-1)
        boxes.append(torch.cat([centre - half, centre + half], dim=-1))
    out = torch.stack(boxes, dim=1)
    if mask is not None:
        canvas = tuple(mask.shape[-2:])
    if canvas is not None:
        out = into_frame(out, canvas)
    if mask is not None:
        out = place_on_recorded(out, mask)
    return out[0] if single else out


def into_frame(boxes: torch.Tensor, canvas: tuple[int, int]) -> torch.Tensor:
    """``boxes`` ``(..., 4)`` moved by the least amount into the :data:`FRAME` of a ``canvas``
    ``(height, width)`` (a box larger than the frame is centred on it).

    Example:
        >>> [round(v, 2) for v in into_frame(torch.tensor([-10.0, -20.0, 30.0, 20.0]), (100, 100)).tolist()]
        [3.41, 0.0, 43.41, 40.0]
    """
    h, w = canvas
    lo = torch.tensor([FRAME[0] * w, FRAME[1] * h], dtype=boxes.dtype, device=boxes.device)
    hi = torch.tensor([FRAME[2] * w, FRAME[3] * h], dtype=boxes.dtype, device=boxes.device)
    start, end = boxes[..., :2], boxes[..., 2:]
    size = end - start
    # shift right/down when below lo, left/up when past hi; centre when larger than the frame
    shift = torch.where(size > hi - lo, (lo + hi) / 2 - (start + end) / 2,
                        torch.clamp(lo - start, min=0) - torch.clamp(end - hi, min=0))
    return torch.cat([start + shift, end + shift], dim=-1)


def place_on_recorded(boxes: torch.Tensor, mask: torch.Tensor, reach: float = 0.25) -> torch.Tensor:
    """``boxes`` ``(B, K, 4)`` moved onto the recorded pixels of ``mask`` ``(B, 1, H, W)``.

    A box with at least :data:`RECORDED_ENOUGH` of its area recorded stays. Any other is moved
    to the nearest place, within ``reach`` of its width and height each way, where the share of
    its area on recorded pixels is :data:`RECORDED_ENOUGH` or, if no place reaches that, within
    half a percent of the best place's share. Shares are read from the mask's integral image on
    a grid of whole pixels (every other pixel on canvases over 128 px); parts of a box outside
    the canvas count as not recorded. Nothing here is differentiated.

    Example:
        >>> mask = torch.ones(1, 1, 100, 100); mask[..., :20, :] = 0
        >>> place_on_recorded(torch.tensor([[[30.0, 10.0, 70.0, 50.0]]]), mask).tolist()
        [[[30.0, 20.0, 70.0, 60.0]]]
    """
    with torch.no_grad():
        b = boxes.shape[0]
        h, w = mask.shape[-2:]
        m = mask[:, 0] > 0.5
        inside_canvas = bool(((boxes[..., :2] >= 0) & (boxes[..., 2:] <= boxes.new_tensor([w, h]))).all())
        if inside_canvas and bool(m.all()):
            return boxes  # a whole canvas recorded: nothing to move (and no integral image to build)
        m = m.to(torch.float32)
        flat = F.pad(m.cumsum(1).cumsum(2), (1, 0, 1, 0)).reshape(b, -1)  # integral image, (B, (H + 1)(W + 1))
        size = (boxes[..., 2:] - boxes[..., :2]).to(torch.float32)  # (B, K, 2)
        area = (size[..., 0] * size[..., 1]).clamp_min(1.0)

        def shares(start: torch.Tensor) -> torch.Tensor:
            """The recorded share of boxes of ``size`` at ``start`` ``(B, K, ..., 2)`` -> ``(B, K, ...)``."""
            extra = start.dim() - size.dim()
            end = start + size.view(*size.shape[:2], *[1] * extra, 2)
            x1, y1 = start.round().unbind(-1)
            x2, y2 = end.round().unbind(-1)
            x1, x2 = x1.clamp(0, w).long(), x2.clamp(0, w).long()
            y1, y2 = y1.clamp(0, h).long(), y2.clamp(0, h).long()

            def at(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
                return flat.gather(1, (y * (w + 1) + x).reshape(b, -1)).reshape(y.shape)

            inside = at(y2, x2) - at(y1, x2) - at(y2, x1) + at(y1, x1)
            return inside / area.view(*area.shape, *[1] * extra)

        start = boxes[..., :2].to(torch.float32)
        if bool((shares(start) >= RECORDED_ENOUGH).all()):
            return boxes  # every box stays: the search is not needed
        step = 1 if max(h, w) <= 128 else 2
        limit = int(max(reach * float(size.max()), step))
        offsets = torch.arange(-limit - (limit % step), limit + step, step, device=mask.device, dtype=torch.float32)
        dy, dx = torch.meshgrid(offsets, offsets, indexing="ij")
        shifts = torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=-1)  # (S, 2), the zero shift among them
        # only shifts within reach of this box's own size
        allowed = (shifts.abs()[None, None] <= reach * size[:, :, None] + 1e-6).all(-1)  # (B, K, S)
        share = torch.where(allowed, shares(start[..., None, :] + shifts), -1.0)  # (B, K, S)
        best = share.max(-1, keepdim=True).values
        # good enough: RECORDED_ENOUGH, or near the best; a box already good enough has the zero shift nearest
        good = share >= torch.clamp(best - 0.005, max=RECORDED_ENOUGH)
        distance = torch.where(good, shifts.norm(dim=-1).expand_as(share), float("inf"))
        chosen = shifts[distance.argmin(-1)].to(boxes.dtype)  # (B, K, 2)
    return boxes + torch.cat([chosen, chosen], dim=-1)


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


def region_boxes(kind: str, landmarks: torch.Tensor, height: int, width: int,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """Boxes of the region layout ``kind`` (``au9`` or ``grid3x3``) for a batch of faces on a
    ``height`` x ``width`` canvas (``au9``: in its frame and, with ``mask``, on its recorded
    pixels; see :func:`au_boxes`).

    Args:
        landmarks: ``(B, 68, 2)``; ignored by ``grid3x3``.
        mask: ``(B, 1, H, W)`` validity mask, or ``None``.

    Returns:
        ``(B, 9, 4)`` boxes.
    """
    if kind == "au9":
        return au_boxes(landmarks, (height, width), mask)
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
