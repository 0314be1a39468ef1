"""The example plugin's classical model: MDMO features and a logistic-regression classifier.

MDMO, main directional mean optical flow (Liu et al., "A main directional mean optical flow feature
for spontaneous micro-expression recognition", IEEE Transactions on Affective Computing, 2016):
in each region of the face, the flow's orientations are binned, the bin holding the most pixels is
the main direction, and the region's feature is the mean flow vector of that bin's pixels, as
(magnitude, angle). The paper's regions are 36 facial ROIs and its flow runs frame by frame; this
example cuts the face into ``blocks`` x ``blocks`` blocks and reads the onset -> apex flow of the
chosen displacement provider, so 2 features a block.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from mezoo.classical import Classifier, FeatureExtractor


class MDMO(FeatureExtractor):
    """MDMO of the onset -> apex flow over a grid of blocks.

    Args:
        blocks: the face is cut into ``blocks`` x ``blocks`` blocks.
        bins: orientation bins over the full circle (the paper's 8).
    """

    reads = "pair"  # onset, apex and the provider's flow

    def __init__(self, blocks: int = 6, bins: int = 8):
        from mezoo.errors import ConfigError

        if blocks < 1 or bins < 2:
            raise ConfigError(f"features.mdmo needs blocks >= 1 and bins >= 2; got blocks {blocks}, bins {bins}")
        self.blocks, self.bins = int(blocks), int(bins)

    def extract(self, frames: np.ndarray, displacement: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        from mezoo.errors import ConfigError

        if displacement is None or displacement.shape[0] < 2:
            raise ConfigError("features.mdmo needs an onset -> apex flow: --displacement farneback or tvl1")
        u, v = displacement[0], displacement[1]
        recorded = np.ones(u.shape, bool) if mask is None else np.asarray(mask, bool)
        angle = np.arctan2(v, u)
        which = np.clip(((angle + np.pi) / (2 * np.pi) * self.bins).astype(int), 0, self.bins - 1)
        out = []
        for rows in np.array_split(np.arange(u.shape[0]), self.blocks):
            for cols in np.array_split(np.arange(u.shape[1]), self.blocks):
                cut = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
                inside = recorded[cut]
                if not inside.any():
                    out += [0.0, 0.0]
                    continue
                bins = which[cut][inside]
                main = np.bincount(bins, minlength=self.bins).argmax()
                mean_u, mean_v = u[cut][inside][bins == main].mean(), v[cut][inside][bins == main].mean()
                out += [float(np.hypot(mean_u, mean_v)), float(np.arctan2(mean_v, mean_u))]
        return np.asarray(out, dtype=np.float32)


class Logistic(Classifier):
    """Multinomial logistic regression on standardised features (scikit-learn).

    Args:
        C: inverse regularisation strength (scikit-learn's 1.0).
    """

    def __init__(self, C: float = 1.0):
        self.C = float(C)

    def build(self, class_weight: Literal["balanced"] | None, seed: int) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, class_weight=class_weight,
                                                                  max_iter=2000, random_state=seed))
