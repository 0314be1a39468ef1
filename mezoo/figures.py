"""Figures: displacements (paper Fig. 3), fusion weights (Fig. 7), confusion matrices (Fig. 8)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor


def flow_to_rgb(flow: Tensor | np.ndarray, max_magnitude: float | None = None,
                mask: Tensor | np.ndarray | None = None) -> np.ndarray:
    """Colour-wheel picture of a displacement: hue is the direction, saturation the magnitude.

    Args:
        flow: ``(2, H, W)``, x then y.
        max_magnitude: the magnitude drawn fully saturated; default the 99th percentile of the
            magnitude over the valid pixels, so that the face's motion, not one outlier, sets
            the scale.
        mask: ``(H, W)`` or ``(1, H, W)``, nonzero where the pixels are real; the others are
            drawn grey.

    Returns:
        ``(H, W, 3)`` uint8 RGB; no motion is white.
    """
    from matplotlib.colors import hsv_to_rgb

    flow = flow.detach().cpu().numpy() if isinstance(flow, Tensor) else np.asarray(flow)
    fx, fy = flow[0].astype(np.float64), flow[1].astype(np.float64)
    magnitude = np.hypot(fx, fy)
    valid = np.ones_like(magnitude, dtype=bool) if mask is None else _as_array(mask).reshape(magnitude.shape) > 0
    seen = magnitude[valid] if valid.any() else magnitude.ravel()
    top = max_magnitude if max_magnitude is not None else max(float(np.percentile(seen, 99)), 1e-8)
    hue = (np.arctan2(-fy, fx) / (2 * np.pi)) % 1.0  # image y points down; draw "up" as up
    hsv = np.stack([hue, np.clip(magnitude / top, 0, 1), np.ones_like(hue)], axis=-1)
    rgb = (hsv_to_rgb(hsv) * 255).round().astype(np.uint8)
    rgb[~valid] = 128
    return rgb


def _as_array(t: Tensor | np.ndarray) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, Tensor) else np.asarray(t)


def _image(t: Tensor) -> np.ndarray:
    """``(C, H, W)`` in [0, 1], or a signed dynamic image, -> displayable ``(H, W, 3)``."""
    a = t.detach().cpu().float()
    if a.min() < 0:  # signed: zero is mid-grey
        a = (a / a.abs().max().clamp_min(1e-8) + 1) / 2
    a = a.clamp(0, 1).numpy().transpose(1, 2, 0)
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def displacement_figure(rows: Sequence[dict[str, Tensor | str]], path: str | Path) -> Path:
    """Draw one row per sample: onset, apex, dynamic image, optical flow, DGM (paper Fig. 3).

    Args:
        rows: dicts with ``title`` and the tensors ``onset``, ``apex``, ``dynamic`` (``(C, H, W)``)
            and ``flow``, ``dgm`` (``(2, H, W)``), and optionally ``mask`` (``(1, H, W)``, the
            valid pixels: flows are scaled over them, and drawn grey outside).
        path: where to write the PNG.
    """
    plt = _pyplot()
    columns = [("onset", "(a) Onset"), ("apex", "(b) Apex"), ("dynamic", "(c) Dynamic image"),
               ("flow", "(d) Optical flow"), ("dgm", "(e) DGM")]
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.2 * len(columns), 2.3 * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c, (key, label) in enumerate(columns):
            value = row[key]
            assert isinstance(value, Tensor)
            mask = row.get("mask")
            axes[r, c].imshow(flow_to_rgb(value, mask=mask) if key in ("flow", "dgm") else _image(value))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(label, fontsize=9)
        axes[r, 0].set_ylabel(str(row["title"]), fontsize=8)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Lay out, write as PNG (creating the folder) and close ``fig``."""
    import matplotlib.pyplot as plt

    from mezoo.files import write_atomic

    fig.tight_layout()
    path = Path(path)
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    finally:
        plt.close(fig)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_figure(confusion: Sequence[Sequence[int]], classes: Sequence[str], path: str | Path,
                     title: str = "") -> Path:
    """The confusion matrix as a heat map of row-normalised rates, annotated with counts (paper Fig. 8)."""
    plt = _pyplot()
    counts = np.asarray(confusion, dtype=np.int64)
    rates = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 1.8, 1.1 * len(classes) + 1.2))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{rates[i, j]:.2f}\n({counts[i, j]})", ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def subjects_figure(subjects: dict[str, dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Each test subject's UF1 and accuracy on its own samples (``{subject: {"n", "uf1", "accuracy"}}``),
    one row per subject with its sample count: which people a run gets right and which it does not."""
    plt = _pyplot()
    names = list(subjects)
    fig, ax = plt.subplots(figsize=(6.0, 0.28 * len(names) + 1.2))
    y = np.arange(len(names))
    ax.barh(y, [subjects[n]["accuracy"] for n in names], color="0.8", label="accuracy")
    ax.plot([subjects[n]["uf1"] for n in names], y, "o", color="tab:blue", markersize=4, label="UF1")
    ax.set_yticks(y, [f"{n} (n={subjects[n]['n']})" for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("score on the subject's own samples")
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def forest_figure(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Paired differences (second minus first) in UF1 and UAR with their intervals, one row per pair
    and part (the rows of :func:`mezoo.loso.compare.compare_runs`); the line at 0 is "no difference"."""
    plt = _pyplot()
    labels = [f"{r['second']} - {r['first']}" + ("" if r["part"] == "full" else f" [{r['part']}]") for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 0.45 * len(rows) + 1.4), sharey=True, squeeze=False)
    y = np.arange(len(rows))
    for ax, metric in zip(axes[0], ("uf1", "uar")):
        d = np.array([r[metric]["difference"] for r in rows])
        low = np.array([r[metric]["interval"][0] for r in rows])
        high = np.array([r[metric]["interval"][1] for r in rows])
        ax.errorbar(d, y, xerr=[d - low, high - d], fmt="o", color="tab:blue", capsize=3)
        ax.axvline(0, color="0.5", linestyle="--", linewidth=1)
        for yi, r in zip(y, rows):
            ax.annotate(f"{r[metric]['difference']:+.3f}, p={r[metric]['p']:.3f}", (d[yi], yi), xytext=(0, 7),
                        textcoords="offset points", fontsize=7, ha="center")
        ax.set_xlabel(f"difference in {metric.upper()}")
    axes[0][0].set_yticks(y, labels, fontsize=7)
    axes[0][0].invert_yaxis()
    level = rows[0]["level"] if rows else 0.95
    fig.suptitle(f"paired differences, {level:.0%} subject-bootstrap intervals", fontsize=9)
    return _save(fig, path)


def fusion_weights_figure(local: np.ndarray, global_: np.ndarray, names: Sequence[str], path: str | Path,
                          title: str = "") -> Path:
    """The fusion layers' softmax weights (paper Fig. 7).

    Args:
        local: ``(K, N)`` weight of each patch in each region's local fusion layer (N a square).
        global_: ``(K,)`` weight of each region in the global fusion layer.
        names: the K region names.
    """
    plt = _pyplot()
    k, n = local.shape
    side = int(round(np.sqrt(n)))
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    fig = plt.figure(figsize=(2.0 * cols + 3.5, 2.0 * rows + 0.4))
    grid = fig.add_gridspec(rows, cols + 2)
    for i in range(k):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        ax.imshow(local[i].reshape(side, side), cmap="magma", vmin=0, vmax=float(local.max()))
        ax.set_title(names[i], fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(grid[:, cols:])
    ax.barh(range(k), global_, color="tab:red")
    ax.set_yticks(range(k), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("global fusion weight")
    fig.suptitle(title or "Fusion weights: local (per patch, left) and global (per region, right)", fontsize=9)
    return _save(fig, path)


def time_weights_figure(weights: np.ndarray, path: str | Path, title: str = "") -> Path:
    """A sequence head's time fusion weights: ``(T-1,)``, one per onset -> frame t step (t = 1 .. T-1)."""
    plt = _pyplot()
    steps = np.arange(1, len(weights) + 1)
    fig, ax = plt.subplots(figsize=(0.45 * len(weights) + 2.4, 2.6))
    ax.bar(steps, weights, color="tab:red")
    ax.axhline(1 / len(weights), color="grey", linewidth=0.8, linestyle="--", label="uniform")
    ax.set_xticks(steps)
    ax.set_xlabel("step t (onset paired with frame t)")
    ax.set_ylabel("time fusion weight")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(title or "Time fusion weights", fontsize=9)
    return _save(fig, path)


def regions_figure(face: np.ndarray, landmarks: np.ndarray, panels: Sequence[tuple[str, np.ndarray, Sequence[str]]],
                   path: str | Path, title: str = "", mask: np.ndarray | None = None) -> Path:
    """Region boxes drawn on a calibrated face, one panel per layout (paper Fig. 4).

    Args:
        face: ``(H, W, 3)`` uint8 RGB calibrated face.
        landmarks: ``(68, 2)`` its landmarks (drawn as dots).
        panels: ``(title, boxes (K, 4) x1 y1 x2 y2, names)`` per panel, e.g. the 9 AU regions
            and the 3x3 grid.
        mask: ``(H, W)`` bool, the pixels that come from the source image: the others are
            shaded red, and each box is labelled with its valid share.
    """
    import torch

    from mezoo.face.au_regions import box_validity

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6), squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, (name, boxes, labels) in zip(axes[0], panels):
        ax.imshow(face)
        valid = [None] * len(labels)
        if mask is not None:
            overlay = np.zeros((*mask.shape, 4))
            overlay[~mask] = (1.0, 0.0, 0.0, 0.35)
            ax.imshow(overlay)
            valid = box_validity(torch.as_tensor(mask, dtype=torch.float32)[None, None],
                                 torch.as_tensor(np.asarray(boxes), dtype=torch.float32)[None])[0].tolist()
        ax.scatter(landmarks[:, 0], landmarks[:, 1], s=4, c="yellow", linewidths=0)
        for k, ((x1, y1, x2, y2), label) in enumerate(zip(np.asarray(boxes), labels)):
            color = colors(k % 10)
            share = "" if valid[k] is None else f" {valid[k]:.0%}"
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.5, ec=color))
            ax.text(max(x1, 0) + 2, max(y1, 0) + 2, f"{k + 1} {label}{share}", color="white", fontsize=6, va="top",
                    bbox={"facecolor": color, "alpha": 0.75, "pad": 1, "lw": 0})
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, face.shape[1])
        ax.set_ylim(face.shape[0], 0)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def motion_timeline_figure(video: Any, path: str | Path) -> Path:
    """A video's motion signal over time with the spotting threshold, the spotted intervals
    (shaded, labelled with their class and probability) and the stretches with no face (grey).

    ``video``: a :class:`~mezoo.inference.predictor.VideoPrediction`.
    """
    plt = _pyplot()
    fps = video.fps
    t = (video.first + np.arange(len(video.signal))) / fps
    fig, ax = plt.subplots(figsize=(min(max(6.0, 0.35 * (t[-1] - t[0]) + 4.0), 16.0), 2.9))
    ax.plot(t, video.signal, color="tab:blue", linewidth=1.0, label="returning motion")
    ax.axhline(video.level, color="tab:red", linestyle="--", linewidth=0.9, label=f"threshold {video.level:.2f}")
    top = np.nanmax(np.append(video.signal[np.isfinite(video.signal)], video.level)) * 1.25
    for a, b in video.no_face:
        ax.axvspan(a / fps, (b + 1) / fps, color="0.85", zorder=0, label="no face" if a == video.no_face[0][0] else None)
    colors = plt.get_cmap("tab10")
    for interval in video.intervals:
        k = video.classes.index(interval.label) if interval.label in video.classes else 7
        ax.axvspan(interval.onset_s, interval.offset_s, color=colors(k), alpha=0.2, zorder=0)
        ax.axvline(interval.apex_s, color=colors(k), linewidth=0.8)
        text = f"{interval.label} {interval.probs[interval.label]:.0%}" if interval.label else "?"
        ax.text(interval.apex_s, top * 0.97, text, ha="center", va="top", fontsize=7, color=colors(k),
                bbox={"facecolor": "white", "alpha": 0.8, "pad": 1, "lw": 0})
    ax.set_xlim(t[0], t[-1] + 1 / fps)
    ax.set_ylim(0, top)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("motion (px of a 224 px face)")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{Path(video.path).name}: {len(video.intervals)} micro-expression(s) spotted", fontsize=9)
    return _save(fig, path)


@dataclass
class RegionsView:
    """What :func:`regions_figure` draws: the calibrated ``face`` with its ``landmarks``, how it was
    calibrated, a ``title``, and the ``panels`` (title, boxes, names) of the 9 AU regions and the 3x3 grid."""

    face: np.ndarray
    landmarks: np.ndarray
    calibration: Any
    title: str
    panels: list[tuple[str, np.ndarray, Sequence[str]]]

    @property
    def seen(self) -> np.ndarray:
        """The landmarks the fitter saw in the image (those outside it NaN, so not drawn)."""
        shown = np.array(self.landmarks, dtype=np.float64)
        shown[np.asarray(self.calibration.unseen, dtype=bool)] = np.nan
        return shown


def regions_of(settings: Any, photo: np.ndarray | None = None, title: str = "",
               sample_key: str | None = None) -> RegionsView:
    """What :func:`regions_figure` draws for a calibrated face: a ``photo`` (``(H, W, 3)`` RGB,
    called ``title``), or else the onset of sample ``sample_key`` (default: the first) of
    ``settings``' dataset, through the face pipeline of ``settings``.

    Raises:
        FaceError: no face in the photo; DataError: no such sample.
    """
    import torch

    from mezoo.data.faces import FaceReader
    from mezoo.errors import DataError
    from mezoo.face.au_regions import AU_REGION_NAMES, GRID3X3_NAMES, au_boxes, grid3x3_boxes

    reader = FaceReader.from_settings(settings.face, settings.run.cache_dir)
    if photo is None:
        from mezoo.data.registry import make_dataset

        samples = make_dataset(settings.dataset).samples()
        picked = [s for s in samples if s.key == sample_key] if sample_key else samples[:1]
        if not picked:
            raise DataError(f"no sample {sample_key} in dataset {settings.dataset.name!r}")
        face, landmarks = reader.read(picked[0], picked[0].onset)
        calibration, title = reader.clip(picked[0]), picked[0].key
    else:
        calibration = reader.calibrate(photo, title)
        face, landmarks = calibration.warp(photo), calibration.landmarks
    size = face.shape[0]
    mask = torch.from_numpy(reader.mask(picked[0]) if photo is None else calibration.mask)[None, None].float()
    boxes = au_boxes(torch.as_tensor(landmarks)[None], mask=mask)[0].numpy()
    panels = [("AU regions (au9)", boxes, AU_REGION_NAMES),
              ("3x3 grid (ablation M5)", grid3x3_boxes(size, size)[0].numpy(), GRID3X3_NAMES)]
    return RegionsView(face, landmarks, calibration, title, panels)
