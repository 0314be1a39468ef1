"""The Temporal Interpolation Model (Zhou, Zhao and Pietikainen, CVPR 2011).

TIM treats a clip of n frames as n points on a curve in image space and embeds them with the
path graph P_n: its Laplacian's eigenvectors, apart from the constant one, are the functions

    y_k(t) = sin(pi k t + pi (n - k) / (2 n)),   k = 1 .. n-1,

sampled at t = 1/n, 2/n, ..., 1. The centred frames X (m x n) are mapped onto these n-1 curves
by the linear map W with W Y = X (exact: X's rows sum to zero and so lie in the span of Y's
rows), and a frame at any t in [1/n, 1] is ``mean + W y(t)``. Resampling to T frames evaluates
that at T evenly spaced times from the first frame to the last.

The paper computes W after a PCA of X to keep the problem small; the interpolated frames do not
depend on it (``W y(t) = X Y^T (Y Y^T)^{-1} y(t)``), so this implementation needs no PCA: each
output frame is the mean plus a weighted sum of the centred input frames, with an n x T weight
matrix (:func:`tim_weights`) that depends only on n and T.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mezoo.data.interpolate import check


def path_graph_embedding(n: int, t: np.ndarray) -> np.ndarray:
    """The n-1 non-constant Laplacian eigenvectors of the path graph P_n, evaluated at ``t``:
    ``(n - 1, len(t))``."""
    k = np.arange(1, n)[:, None]
    return np.sin(np.pi * k * t[None, :] + np.pi * (n - k) / (2 * n))


@lru_cache(maxsize=256)
def tim_weights(n: int, length: int) -> np.ndarray:
    """``(n, length)``: output frame j = mean + sum_i w[i, j] (frame i - mean)."""
    y = path_graph_embedding(n, np.arange(1, n + 1) / n)  # (n-1, n), at the input frames
    t = np.linspace(1 / n, 1, length)
    weights = y.T @ np.linalg.solve(y @ y.T, path_graph_embedding(n, t))
    weights.setflags(write=False)
    return weights


def tim(frames: np.ndarray, length: int = 10) -> np.ndarray:
    """Resample ``(n, H, W, C)`` frames to ``(length, H, W, C)`` float32 with TIM.

    The first and last output frames are the first and last input frames; with
    ``length == n`` the output is the input (up to float rounding, ~1e-4 for 8-bit frames).
    """
    x = check(frames, length).astype(np.float64)
    n = len(x)
    flat = x.reshape(n, -1)
    mean = flat.mean(0)
    out = mean + tim_weights(n, int(length)).T @ (flat - mean)
    return out.reshape(int(length), *x.shape[1:]).astype(np.float32)
