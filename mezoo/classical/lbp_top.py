"""LBP-TOP (Zhao and Pietikainen, "Dynamic texture recognition using local binary patterns with an
application to facial expressions", TPAMI 2007): local binary patterns on three orthogonal planes
of the clip's volume, histogrammed per spatial block. The hand-crafted baseline of nearly every ME
table (the FRL-DGT paper's Table 1: composite UF1 0.588, UAR 0.579, with a linear SVM).

For a clip of T grey frames ``(T, H, W)`` every pixel gets three codes: the LBP of its
neighbourhood in its frame (XY), in its row over time (XT) and in its column over time (YT),
``points`` neighbours on a circle of ``radius`` (scikit-image's ``local_binary_pattern``; for XT
and YT the circle spans time and space alike). The face is cut into ``blocks`` x ``blocks``
spatial blocks spanning the whole clip; each block gives one histogram per plane, normalised to
sum 1, and the feature is their concatenation: ``blocks^2 x 3 x bins``.

Where the paper leaves a choice, mezoo takes the ME literature's usual one: 5 x 5 blocks, 8
neighbours at radius 1 on every plane, non-rotation-invariant uniform patterns (59 bins for 8
neighbours), the clip resampled to ``sequence.length`` frames (10; ``sequence.interpolator``: tim
with the mezoo-tim plugin, as the CASME II baseline did). Pixels within ``radius`` of the volume's
border in space or time, and pixels whose neighbourhood reaches an unrecorded pixel of the
calibrated canvas, are not counted.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from mezoo.classical.base import FeatureExtractor


class LBPTOP(FeatureExtractor):
    """LBP-TOP histograms of a clip.

    Args:
        blocks: the face is cut into ``blocks`` x ``blocks`` spatial blocks (5).
        points: neighbours on each circle (8).
        radius: the circle's radius in pixels and frames (1).
        uniform: non-rotation-invariant uniform patterns (``points * (points - 1) + 3`` bins); False:
            every pattern (``2^points`` bins).
    """

    reads: ClassVar[Literal["pair", "clip"]] = "clip"

    def __init__(self, blocks: int = 5, points: int = 8, radius: int = 1, uniform: bool = True):
        from mezoo.errors import ConfigError

        if blocks < 1:
            raise ConfigError(f"features.lbp_top.blocks is {blocks}; give at least 1 (the literature's 5)")
        if not 4 <= points <= 16:
            raise ConfigError(f"features.lbp_top.points is {points}; give 4 to 16 neighbours (the literature's 8)")
        if radius < 1:
            raise ConfigError(f"features.lbp_top.radius is {radius}; give at least 1 (the literature's 1)")
        self.blocks, self.points, self.radius = int(blocks), int(points), int(radius)
        self.method = "nri_uniform" if uniform else "default"
        self.bins = self.points * (self.points - 1) + 3 if uniform else 2 ** self.points

    @property
    def size(self) -> int:
        """The feature length: ``blocks^2 x 3 x bins``."""
        return self.blocks * self.blocks * 3 * self.bins

    def codes(self, volume: np.ndarray) -> np.ndarray:
        """The XY, XT and YT codes of every pixel of ``volume`` ``(T, H, W)`` uint8, ``(3, T, H, W)``."""
        from skimage.feature import local_binary_pattern

        def lbp(plane: np.ndarray) -> np.ndarray:
            return local_binary_pattern(plane, self.points, self.radius, method=self.method)

        t, h, w = volume.shape
        xy = np.stack([lbp(volume[i]) for i in range(t)])
        xt = np.stack([lbp(volume[:, y]) for y in range(h)], axis=1)
        yt = np.stack([lbp(volume[:, :, x]) for x in range(w)], axis=2)
        return np.stack([xy, xt, yt]).astype(np.int64)

    def extract(self, frames: np.ndarray, displacement: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        from mezoo.errors import ConfigError

        t, h, w = frames.shape
        r = self.radius
        if t < 2 * r + 1 or min(h, w) < 2 * r + self.blocks:
            raise ConfigError(f"features.lbp_top (radius {r}, {self.blocks} x {self.blocks} blocks) needs clips of at "
                              f"least {2 * r + 1} frames (sequence.length) and faces of at least "
                              f"{2 * r + self.blocks} pixels; these have {t} frames of {h} x {w}")
        volume = np.clip(np.rint(frames * 255), 0, 255).astype(np.uint8)
        codes = self.codes(volume)[:, r:t - r]  # (3, T', H, W): frames whose neighbours in time exist
        valid = np.zeros((h, w), bool)
        valid[r:h - r, r:w - r] = True
        if mask is not None:  # a neighbourhood reaching an unrecorded pixel does not count
            from scipy.ndimage import binary_erosion

            valid &= binary_erosion(np.asarray(mask, bool), iterations=r, border_value=1)
        out = []
        for rows in np.array_split(np.arange(h), self.blocks):
            for cols in np.array_split(np.arange(w), self.blocks):
                inside = valid[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
                for plane in codes:
                    block = plane[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1][:, inside]
                    hist = np.bincount(block.ravel(), minlength=self.bins).astype(np.float32)
                    out.append(hist / max(hist.sum(), 1.0))
        return np.concatenate(out)
