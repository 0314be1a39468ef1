"""Bi-WOOF, bi-weighted oriented optical flow (Liong, See, Wong and Phan, "Less is more:
Micro-expression recognition from video using apex frame", Signal Processing: Image
Communication 62, 2018): a histogram of flow orientations per block of the face, each pixel's vote
weighted by its flow magnitude (the local weight) and each block's histogram by the block's mean
optical strain (the global weight). From two frames only, onset and apex. The FRL-DGT paper's
Table 1: composite UF1 0.630, UAR 0.623, with a linear SVM.

The flow is the chosen displacement provider's (``--displacement farneback``, mezoo's default;
the paper used TV-L1: ``--displacement tvl1``); the strain is its optical strain magnitude
(:func:`mezoo.displacement.strain.strain_magnitude`). Where the paper leaves a choice, mezoo
takes: 5 x 5 blocks, 8 orientation bins over the full circle, each block's histogram normalised
to sum 1 before the global weight (so the block weight alone carries the amount of motion), and
only recorded pixels of the calibrated canvas (the mask eroded by one pixel) vote.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from mezoo.classical.base import FeatureExtractor


class BiWOOF(FeatureExtractor):
    """Bi-WOOF histograms of the onset -> apex flow.

    Args:
        blocks: the face is cut into ``blocks`` x ``blocks`` blocks (5).
        bins: orientation bins over [-pi, pi) (8).
    """

    reads: ClassVar[Literal["pair", "clip"]] = "pair"

    def __init__(self, blocks: int = 5, bins: int = 8):
        from mezoo.errors import ConfigError

        if blocks < 1:
            raise ConfigError(f"features.bi_woof.blocks is {blocks}; give at least 1 (mezoo's 5)")
        if bins < 2:
            raise ConfigError(f"features.bi_woof.bins is {bins}; give at least 2 (the paper's 8)")
        self.blocks, self.bins = int(blocks), int(bins)

    @property
    def size(self) -> int:
        """The feature length: ``blocks^2 x bins``."""
        return self.blocks * self.blocks * self.bins

    def extract(self, frames: np.ndarray, displacement: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        import torch

        from mezoo.displacement.strain import strain_magnitude
        from mezoo.errors import ConfigError

        if displacement is None or displacement.shape[0] < 2:
            raise ConfigError("features.bi_woof needs an onset -> apex flow: choose a flow provider "
                              "(--displacement farneback or tvl1)")
        flow = np.asarray(displacement[:2], dtype=np.float32)
        h, w = flow.shape[1:]
        if min(h, w) < self.blocks:
            raise ConfigError(f"features.bi_woof: {self.blocks} x {self.blocks} blocks need faces of at least "
                              f"{self.blocks} pixels; these are {h} x {w}")
        if mask is None:
            inside = np.ones((h, w), bool)
        else:  # recorded pixels whose neighbours are recorded too (the strain's differences need them)
            from scipy.ndimage import binary_erosion

            inside = binary_erosion(np.asarray(mask, bool), iterations=1, border_value=1)
        strain = strain_magnitude(torch.as_tensor(flow)[None])[0, 0].numpy() * inside
        weight = np.hypot(flow[0], flow[1]) * inside  # the local weight: each pixel's flow magnitude
        orientation = np.floor((np.arctan2(flow[1], flow[0]) + np.pi) / (2 * np.pi) * self.bins).astype(np.int64)
        orientation = np.clip(orientation, 0, self.bins - 1)
        out = []
        for rows in np.array_split(np.arange(h), self.blocks):
            for cols in np.array_split(np.arange(w), self.blocks):
                cut = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
                hist = np.bincount(orientation[cut].ravel(), weights=weight[cut].ravel(), minlength=self.bins)
                hist = hist / hist.sum() if hist.sum() > 0 else hist
                recorded = inside[cut]
                zeta = float(strain[cut][recorded].mean()) if recorded.any() else 0.0  # the global weight
                out.append((hist * zeta).astype(np.float32))
        return np.concatenate(out)
