"""How well the displacement providers see 1-3 px motion: errors against the true motion.

The ``synthetic`` dataset (drawn faces) and the ``photo_motion`` dataset (real faces that installed
packages ship) know the motion they rendered between onset and apex
(:func:`~mezoo.data.synthetic.true_motion`); :func:`measure` compares each displacement provider's
output with it, sample by sample, on the calibrated canvas:

- **EPE** (end-point error, px): the mean length of ``D - truth`` over the *face* (the hull of the
  68 landmarks and the 9 AU boxes) and inside the *AU boxes* (their union);
- **AE** (angular error, degrees, Barron et al. 1994): the angle between ``(u, v, 1)`` and
  ``(u*, v*, 1)``, mean over the face; it weighs direction and magnitude together;
- **direction** (degrees): the mean angle between ``D`` and the truth where the truth moves by
  at least 0.5 px, magnitude left out: the one column a normalised output (``of_norm``) has;
- **face / background**: the mean magnitude on the face over the mean magnitude on the
  background (beyond the face by 8 px); the truth's own ratio is its row's value (the head's drift
  moves the background too).

Errors are first averaged over each sample's pixels, then over samples. A provider whose output is
not in pixels (``in_pixels = False``: ``of_norm``) has no EPE or AE; one that is not a vector field
(``dynamic_image``) has no row. Trainable providers are measured as LOSO uses them: for the DGM,
from scratch after its ``warmup_steps`` self-supervised steps on random frame pairs of the same
clips (no labels and no true motion are seen), and from each of its pre-trained weights as they
ship.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    from mezoo.settings import Settings

#: Truth magnitude (px) from which the direction error counts a pixel.
MOVING = 0.5
#: Background: this many px beyond the face.
BACKGROUND_GAP = 8


@dataclass
class MotionRow:
    """One provider's errors, averaged over samples (``None``: not defined for its output)."""

    name: str
    epe_face: float | None
    epe_au: float | None
    angular: float | None
    direction: float | None
    face_to_background: float | None
    seconds: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def regions(landmarks: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """``face``, ``au`` and ``background`` boolean ``(size, size)`` masks of a calibrated face whose
    68 landmarks are ``landmarks``."""
    from mezoo.face.au_regions import au_boxes

    au = np.zeros((size, size), bool)
    for x1, y1, x2, y2 in au_boxes(torch.as_tensor(landmarks, dtype=torch.float32), canvas=(size, size)).numpy():
        au[max(int(round(y1)), 0):max(int(round(y2)), 0), max(int(round(x1)), 0):max(int(round(x2)), 0)] = True
    face = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.asarray(landmarks, np.float32)).astype(np.int32), 1)
    face = face.astype(bool) | au
    grown = cv2.dilate(face.astype(np.uint8), np.ones((2 * BACKGROUND_GAP + 1,) * 2, np.uint8)).astype(bool)
    return {"face": face, "au": au, "background": ~grown}


def flow_errors(flow: np.ndarray, truth: np.ndarray, where: Mapping[str, np.ndarray],
                pixels: bool = True) -> dict[str, float | None]:
    """The errors of one sample's ``(2, H, W)`` ``flow`` against ``truth`` over the masks of
    :func:`regions` (see the module docstring); EPE and AE are ``None`` unless ``pixels``."""
    face, au, background = where["face"], where["au"], where["background"]
    epe = np.hypot(*(flow - truth))
    dot = (flow * truth).sum(0)
    barron = (dot + 1) / np.sqrt(((flow ** 2).sum(0) + 1) * ((truth ** 2).sum(0) + 1))
    magnitude, true_magnitude = np.hypot(*flow), np.hypot(*truth)
    moving = face & (true_magnitude >= MOVING) & (magnitude > 1e-9)
    cosine = dot[moving] / (magnitude[moving] * true_magnitude[moving])
    return {
        "epe_face": float(epe[face].mean()) if pixels else None,
        "epe_au": float(epe[au].mean()) if pixels else None,
        "angular": float(np.degrees(np.arccos(np.clip(barron[face], -1, 1))).mean()) if pixels else None,
        "direction": float(np.degrees(np.arccos(np.clip(cosine, -1, 1))).mean()) if moving.any() else None,
        "face_to_background": (float(magnitude[face].mean() / magnitude[background].mean())
                               if background.any() and magnitude[background].mean() > 1e-9 else None),
    }


def summarize(name: str, per_sample: Sequence[Mapping[str, float | None]], seconds: float, note: str = "") -> MotionRow:
    """The mean of each error over the samples that have it."""
    def mean(key: str) -> float | None:
        values = [e[key] for e in per_sample if e[key] is not None]
        return float(np.mean(values)) if values else None

    return MotionRow(name, mean("epe_face"), mean("epe_au"), mean("angular"), mean("direction"),
                     mean("face_to_background"), round(seconds, 2), note)


Field = Callable[[Tensor, Tensor, Tensor | None], Tensor]


def evaluate(name: str, field: Field, onset: Tensor, apex: Tensor, mask: Tensor | None, truths: Sequence[np.ndarray],
             wheres: Sequence[Mapping[str, np.ndarray]], batch_size: int = 16, pixels: bool = True,
             note: str = "", extra_seconds: float = 0.0) -> MotionRow:
    """Run ``field`` (``(onset, apex, mask)`` floats -> ``(B, 2, H, W)``) over uint8 ``onset`` and
    ``apex`` ``(N, C, H, W)`` in batches and score it against ``truths``."""
    start = time.perf_counter()
    flows = []
    with torch.no_grad():
        for i in range(0, len(onset), batch_size):
            part = slice(i, i + batch_size)
            flows.append(field(onset[part].float() / 255, apex[part].float() / 255,
                               None if mask is None else mask[part].float()).cpu())
    flow = torch.cat(flows).numpy()
    seconds = time.perf_counter() - start + extra_seconds
    return summarize(name, [flow_errors(f, t, w, pixels) for f, t, w in zip(flow, truths, wheres)], seconds, note)


def measure(settings: Settings, limit: int | None = None, providers: Sequence[str] | None = None,
            progress: bool = True, finetune_steps: int = 0) -> list[MotionRow]:
    """Every (chosen) displacement provider against the true motion of ``settings``' dataset, which
    must know it (``knows_motion``: ``synthetic``, ``photo_motion``); the first ``limit`` samples,
    or all. ``finetune_steps``: also the DGM from its weights after that many self-supervised steps
    at its ``finetune_lr``.

    Raises:
        ConfigError: the dataset does not know its motion, or a provider name is unknown.
    """
    from mezoo import plugins
    from mezoo.data.synthetic import true_motion
    from mezoo.errors import ConfigError
    from mezoo.data.faces import FaceReader
    from mezoo.engine.frames import read_frames, read_pairs
    from mezoo.data.registry import make_dataset

    if not getattr(plugins.get("dataset", settings.dataset.name), "knows_motion", False):
        raise ConfigError(f"dataset {settings.dataset.name!r} does not know its true motion; measure on "
                          f"--dataset photo_motion (real faces) or --dataset synthetic (their settings: "
                          f"--set dataset.<name>.<option>=...)")
    dataset = make_dataset(settings.dataset)
    names = list(providers) if providers else plugins.names("displacement")
    unknown = [n for n in names if n not in plugins.names("displacement")]
    if unknown:
        raise ConfigError(f"unknown displacement provider {', '.join(unknown)}; "
                          f"known: {', '.join(plugins.names('displacement'))}")
    samples = dataset.samples()[:limit] if limit else dataset.samples()
    size, color = settings.face.size, settings.face.color
    faces = FaceReader.from_settings(settings.face, settings.run.cache_dir)
    data = read_frames(samples, dataset.classes, size, color, progress=progress, faces=faces)
    truths = [true_motion(s, size) for s in samples]
    wheres = [regions(lm.numpy(), size) for lm in data.landmarks]
    onset, apex, mask = data.onset, data.apex, data.mask
    rows = [
        summarize("true motion", [flow_errors(t, t, w) for t, w in zip(truths, wheres)], 0.0, "the reference"),
        summarize("no motion", [flow_errors(np.zeros_like(t), t, w) for t, w in zip(truths, wheres)], 0.0,
                  "D = 0: EPE is the mean true magnitude"),
    ]
    cached: dict[int, Any] = {}

    def pairs(per_clip: int) -> Any:  # random frame pairs of the clips, read once
        if per_clip not in cached:
            cached[per_clip] = read_pairs(samples, per_clip, size, color, settings.seed, progress, faces)
        return cached[per_clip]

    for name in names:
        options = dict(settings.displacement.options.get(name) or {})
        provider = plugins.make("displacement", name, **options)
        if not provider.vector_field or provider.out_channels(3) != 2:  # (a flow with more channels: optical_strain)
            continue
        if not (provider.trainable or name == "dgm"):
            rows.append(evaluate(name, provider, onset, apex, mask, truths, wheres,
                                 pixels=getattr(provider, "in_pixels", True)))
            continue
        rows += _trainable_rows(name, options, onset, apex, mask, truths, wheres, pairs, finetune_steps)
    return rows


def _trainable_rows(name: str, options: dict[str, Any], onset: Tensor, apex: Tensor, mask: Tensor | None,
                    truths: Sequence[np.ndarray], wheres: Sequence[Mapping[str, np.ndarray]],
                    pairs: Callable[[int], Any], finetune_steps: int = 0) -> list[MotionRow]:
    """A trainable provider from scratch after its warm-up and, for the DGM, from each of its
    pre-trained weights as shipped (and after ``finetune_steps`` at its ``finetune_lr``)."""
    from mezoo import plugins
    from mezoo.displacement.dgm import PRETRAINED, fit_self_supervised

    def fitted(provider: Any, label: str, steps: int, note: str) -> MotionRow:
        begin = time.perf_counter()
        clips = pairs(max(int(getattr(provider, "pairs_per_clip", 0)), 1))
        fit_self_supervised(provider, clips.first, clips.second, steps, int(provider.pair_batch_size or 16),
                            mask=clips.mask)
        return evaluate(f"{name} ({label})", getattr(provider, "displacement", provider), onset, apex, mask, truths,
                        wheres, note=note, extra_seconds=time.perf_counter() - begin)

    scratch = plugins.make("displacement", name, **{**options, "weights": None} if "weights" in options else options)
    rows = []
    if scratch.warmup_steps:
        rows.append(fitted(scratch, "from scratch", scratch.warmup_steps,
                           f"after {scratch.warmup_steps} warm-up steps"))
    for weights in (w for w in PRETRAINED if name == "dgm" and PRETRAINED[w].is_file()):
        provider = plugins.make("displacement", name, **{**options, "weights": weights}).eval()
        rows.append(evaluate(f"{name} (weights: {weights})", provider.displacement, onset, apex, mask, truths, wheres,
                             note="as shipped, no warm-up"))
        if finetune_steps and provider.trainable:
            rows.append(fitted(provider, f"weights: {weights}", finetune_steps,
                               f"after {finetune_steps} fine-tuning steps at {provider.lr:g}"))
    return rows


def table(rows: Sequence[MotionRow]) -> str:
    """The rows as a Markdown table."""
    def cell(v: float | None, digits: int = 3) -> str:
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"

    lines = ["| provider | EPE face (px) | EPE AU boxes (px) | AE (deg) | direction (deg) | face / background | s | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {cell(r.epe_face)} | {cell(r.epe_au)} | {cell(r.angular, 2)} | "
                     f"{cell(r.direction, 1)} | {cell(r.face_to_background, 2)} | {r.seconds:.1f} | {r.note} |")
    return "\n".join(lines)


@dataclass
class Panels:
    """The rows of a displacement figure (:func:`displacement_panels`) and how its DGM column was made."""

    rows: list[dict[str, Any]]
    dgm: str


def displacement_panels(settings: Settings, sample_keys: Sequence[str] = (), dgm_steps: int | None = None,
                        progress: bool = True) -> Panels:
    """Onset, apex, dynamic image, optical flow and DGM output of samples of ``settings``' dataset
    (the rows of paper Fig. 3, drawn by :func:`mezoo.figures.displacement_figure`).

    ``sample_keys``: which samples (default: the first of each class). The DGM column comes from
    a DGM fitted self-supervised on the dataset's frame pairs (no labels) for ``dgm_steps`` (default:
    its ``warmup_steps``) when it is trainable, else from its weights as saved.

    Raises:
        DataError: a key names no sample of the dataset.
    """
    from mezoo import plugins
    from mezoo.data.cache import DiskCache
    from mezoo.data.faces import FaceReader
    from mezoo.data.registry import make_dataset
    from mezoo.displacement.dgm import fit_self_supervised
    from mezoo.engine.frames import read_frames, read_pairs
    from mezoo.engine.precompute import precompute_displacements, provider_id
    from mezoo.errors import DataError

    dataset = make_dataset(settings.dataset)
    samples = dataset.samples()
    if sample_keys:
        by_key = {s.key: s for s in samples}
        missing = [k for k in sample_keys if k not in by_key]
        if missing:
            raise DataError(f"no sample {', '.join(missing)} in dataset {settings.dataset.name!r}; "
                            f"keys look like {samples[0].key}")
        picked = [by_key[k] for k in sample_keys]
    else:
        picked = [next(s for s in samples if s.label == c) for c in dataset.classes if any(s.label == c for s in samples)]
    size, color = settings.face.size, settings.face.color
    faces = FaceReader.from_settings(settings.face, settings.run.cache_dir)
    data = read_frames(picked, dataset.classes, size, color, progress=progress, faces=faces)
    cache = DiskCache(settings.run.cache_dir)
    columns = {}
    for name in ("farneback", "dynamic_image"):
        options = dict(settings.displacement.options.get(name) or {})
        provider = plugins.make("displacement", name, **options)
        columns[name] = precompute_displacements(provider, provider_id(name, options, provider), data, size, color,
                                                 cache, progress=progress)
    dgm = plugins.make("displacement", "dgm", **(settings.displacement.options.get("dgm") or {}))
    if dgm.trainable:
        pairs = read_pairs(samples, max(dgm.pairs_per_clip, 1), size, color, settings.seed, progress, faces)
        torch.manual_seed(settings.seed)
        steps = dgm_steps if dgm_steps is not None else dgm.warmup_steps
        fit_self_supervised(dgm, pairs.first, pairs.second, steps, int(dgm.pair_batch_size or 16),
                            settings.seed, pairs.mask)
        how = f"DGM fitted self-supervised for {steps} steps on the dataset's frame pairs"
    else:
        how = f"DGM from displacement.dgm.weights={dgm.weights} as saved (finetune_lr 0: nothing to fit)"
    with torch.no_grad():
        rows_index = torch.arange(len(picked))
        onset, apex, _ = data.frames(rows_index, "cpu")
        mask = data.masks(rows_index, "cpu")
        generated = dgm.displacement(onset, apex, mask)
    rows = [
        {"title": f"{s.label}\n{s.key}", "onset": onset[i], "apex": apex[i], "dynamic": columns["dynamic_image"][i],
         "flow": columns["farneback"][i], "dgm": generated[i], "mask": None if mask is None else mask[i]}
        for i, s in enumerate(picked)
    ]
    return Panels(rows, how)
