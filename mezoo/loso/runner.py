"""A whole LOSO run: data, displacement, one training per fold, pooled report, run directory.

A run directory holds ``config.yaml`` (the resolved settings), ``folds/<subject>.json`` (each
fold's predictions, written atomically when the fold ends), ``predictions.csv``, ``report.json``
and ``report.md``. Running the same settings into the same directory again skips the folds
already written, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import Tensor
from tqdm.auto import tqdm

from mezoo import plugins
from mezoo.augment import Augment, Augmentation
from mezoo.config import call_with_options, component_options, dump, fingerprint
from mezoo.data.cache import DiskCache
from mezoo.data.registry import make_dataset
from mezoo.data.sample import Dataset
from mezoo.displacement.base import REFRESH_BATCHES
from mezoo.errors import ConfigError, DataError
from mezoo.face.pipeline import FaceReader
from mezoo.loso.folds import Fold, loso_folds
from mezoo.loso.precompute import precompute_displacements, provider_id
from mezoo.loso.prepare import Pairs, Prepared, prepare, read_pairs
from mezoo.loso.report import build_report, markdown
from mezoo.loso.trainer import check_trained, predict, train_fold
from mezoo.model import FRLDGT


@dataclass
class RunResult:
    """What a run produced: its directory, the report and which folds this call trained."""

    run_dir: Path
    report: dict[str, Any]
    markdown: str
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; anything else as torch reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this torch sees no CUDA device; use --device cpu")
    return device


def default_run_dir(config: Mapping[str, Any]) -> Path:
    """``runs/<dataset>-<displacement>-<fusion>-<fingerprint>``."""
    parts = [config["dataset"]["name"], config["displacement"]["name"], config["fusion"]["name"]]
    return Path("runs") / ("-".join(parts) + f"-{fingerprint(config)}")


def is_sequence_model(config: Mapping[str, Any]) -> bool:
    """Whether the chosen fusion head classifies resampled clips (FRL-DGT-S) rather than onset/apex pairs."""
    return bool(getattr(plugins.get("fusion", config["fusion"]["name"]), "sequence", False))


def sequence_settings(config: Mapping[str, Any]) -> tuple[int, Callable[[np.ndarray, int], np.ndarray]]:
    """``sequence.length`` (T, at least 2) and the registered interpolator ``sequence.interpolator``."""
    length = int(config["sequence"]["length"])
    if length < 2:
        raise ConfigError(f"sequence.length must be at least 2 (the onset and one more frame), not {length}")
    return length, plugins.get("interpolator", str(config["sequence"]["interpolator"]))


def build_model(config: Mapping[str, Any], num_classes: int) -> FRLDGT:
    """FRL-DGT from the config: the chosen displacement provider and fusion head.

    A sequence head (FRL-DGT-S) gets ``num_steps`` = ``sequence.length`` - 1 and inputs of one
    frame plus its displacement (the pair heads: onset, apex and displacement).
    """
    d_name, d_options = component_options(config, "displacement")
    f_name, f_options = component_options(config, "fusion")
    regions = config["regions"]
    frame_channels = 3 if config["face"]["color"] else 1
    provider = plugins.make("displacement", d_name, **d_options)
    steps = {}
    if is_sequence_model(config):
        steps = {"num_steps": sequence_settings(config)[0] - 1}
    in_channels = (1 if steps else 2) * frame_channels + provider.out_channels(frame_channels)
    fusion = plugins.make(
        "fusion", f_name, in_channels=in_channels, num_classes=num_classes, num_regions=9,
        region_size=int(regions["size"]), face_size=int(regions["full_face_size"]), **steps, **f_options,
    )
    return FRLDGT(provider, fusion, regions=str(regions["kind"]), region_size=int(regions["size"]),
                  full_face_size=int(regions["full_face_size"]))


def write_atomic(path: Path, text: str) -> None:
    # Write beside the target, then rename: a crash or Ctrl-C never leaves half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """The model's weights as safetensors, written beside ``path`` and renamed into place."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    try:
        save_file(state, str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_run_dir(run_dir: Path, config: Mapping[str, Any]) -> None:
    existing = run_dir / "config.yaml"
    if existing.exists():
        old = yaml.safe_load(existing.read_text(encoding="utf-8")) or {}
        if fingerprint(old) != fingerprint(config):
            raise ConfigError(
                f"run directory {run_dir} holds a run with other settings; pass another --out, "
                f"or delete it to start again"
            )
    write_atomic(existing, dump(config))


@dataclass
class FusionInputs:
    """The fusion head's inputs for every sample, computed once for a deterministic provider.

    Stored as float16 on the CPU: ``regions`` ``(N, K, M, R, R)`` (``None`` for heads that take
    no regions) and ``face`` ``(N, M, S, S)``.
    """

    regions: Tensor | None
    face: Tensor

    @classmethod
    def compute(cls, model: FRLDGT, data: Prepared, displacements: Tensor, device: torch.device,
                batch_size: int, progress: bool) -> FusionInputs:
        regions, faces = [], []
        rows = torch.arange(len(data.keys))
        with torch.no_grad():
            for start in tqdm(range(0, len(rows), batch_size), desc="regions", unit="batch",
                              disable=not progress, leave=False):
                batch = rows[start:start + batch_size]
                r, f = model.regions_and_face(*data.frames(batch, device), displacements[batch].to(device),
                                              data.masks(batch, device))
                if r is not None:
                    regions.append(r.half().cpu())
                faces.append(f.half().cpu())
        return cls(torch.cat(regions) if regions else None, torch.cat(faces))

    @staticmethod
    def pick(choices: list[FusionInputs], idx: Tensor, choice: Tensor | None) -> tuple[Tensor | None, Tensor]:
        """Regions and face of each row ``idx[i]`` taken from ``choices[choice[i]]``."""
        pairs = list(zip(idx.tolist(), [0] * len(idx) if choice is None else choice.tolist()))
        face = torch.stack([choices[c].face[i] for i, c in pairs])
        if choices[0].regions is None:
            return None, face
        return torch.stack([choices[c].regions[i] for i, c in pairs]), face  # type: ignore[index]

    def forward(self, model: FRLDGT, device: torch.device) -> Callable[[Tensor], tuple[Tensor, None]]:
        """rows -> logits of ``model``'s fusion head on the stored inputs."""

        def forward(idx: Tensor) -> tuple[Tensor, None]:
            r = None if self.regions is None else self.regions[idx].to(device).float()
            return model.fusion(r, self.face[idx].to(device).float()), None

        return forward


class PairSampler:
    """Random batches of self-supervision pairs from the training subjects of one fold only."""

    def __init__(self, pairs: Pairs, test_subject: str, batch_size: int, device: torch.device):
        self.pairs = pairs
        self.rows = np.flatnonzero(pairs.groups != test_subject)
        self.batch_size = batch_size
        self.device = device

    def sample(self, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None]:
        """A batch ``(first, second)`` of ``(B, C, H, W)`` floats in [0, 1] and their validity
        masks ``(B, 1, H, W)`` (or ``None``)."""
        pick = torch.as_tensor(self.rows)[torch.randint(len(self.rows), (self.batch_size,), generator=generator)]
        first = self.pairs.first[pick].to(self.device).float().div_(255)
        second = self.pairs.second[pick].to(self.device).float().div_(255)
        mask = None if self.pairs.mask is None else self.pairs.mask[pick].to(self.device).float()
        return first, second, mask


@dataclass
class Shared:
    """What every fold of a run shares, computed once.

    - ``inputs``: a deterministic provider's fusion inputs for each apex choice (index 0 the
      annotated apex, used for evaluation; the others for apex jitter in training);
    - ``displacements``: its full-resolution output for every apex choice ``(N, V, D, H, W)``
      float16, kept only when augmentation is on (the regions are then cut per batch);
    - ``pairs``: a trainable provider's self-supervision pairs.
    """

    inputs: list[FusionInputs] = field(default_factory=list)
    displacements: Tensor | None = None
    pairs: Pairs | None = None


def _shared(config: Mapping[str, Any], data: Prepared, num_classes: int, device: torch.device,
            progress: bool) -> Shared:
    model = build_model(config, num_classes).to(device)
    provider = model.displacement
    size, color = int(config["face"]["size"]), bool(config["face"]["color"])
    if provider.trainable or model.fusion.sequence:  # sequences: displacements computed per batch
        if not provider.pairs_per_clip:
            return Shared()
        return Shared(pairs=read_pairs(data.samples, provider.pairs_per_clip, size, color, int(config["seed"]),
                                       progress, data.faces))
    name, options = component_options(config, "displacement")
    cache = DiskCache(config["run"].get("cache_dir"))
    batch_size = int(config["train"]["batch_size"])
    per_choice = [
        precompute_displacements(provider, provider_id(name, options, provider), data.view(c), size, color, cache, device,
                                 batch_size, progress)
        for c in range(data.apex_choices)
    ]
    geometric, extra = _augmentations(config)
    if geometric.active or extra:
        inputs = [FusionInputs.compute(model, data, per_choice[0], device, batch_size, progress)]
        return Shared(inputs=inputs, displacements=torch.stack(per_choice, dim=1).half())
    inputs = [FusionInputs.compute(model, data.view(c), d, device, batch_size, progress)
              for c, d in enumerate(per_choice)]
    return Shared(inputs=inputs)


def _augmentations(config: Mapping[str, Any]) -> tuple[Augment, list[Augmentation]]:
    """The geometric augmentation (``train.augment``) and the registered ones in ``train.augmentations``."""
    train = config["train"]
    options = {"hflip": 0, "rotate": 0, "scale": 0, "translate": 0, **(train.get("augment") or {})}
    geometric = call_with_options(Augment, "train.augment", options)
    sections = config.get("augmentation") or {}
    extra = [plugins.make("augmentation", name, **(sections.get(plugins.normalize_name(name)) or {}))
             for name in train.get("augmentations") or []]
    return geometric, extra


def _fold_seed(seed: int, subject: str) -> int:
    # Depends on the subject, not the fold's position, so folds reproduce alone or in parallel.
    return (int(seed) * 1_000_003 + zlib.crc32(subject.encode())) % 2**31


def run_fold(config: Mapping[str, Any], data: Prepared, fold: Fold, num_classes: int,
             device: torch.device, shared: Shared | None = None, progress: bool = True,
             checkpoint: Path | None = None) -> dict[str, Any]:
    """Train on the fold's training subjects, then predict its test subject.

    ``shared``: what :func:`_shared` computed once for all folds (self-supervision pairs of the
    test subject are left out here). Training picks a random apex among its neighbours
    (``train.apex_jitter``) and augments batches (``train.augment``); evaluation uses the
    annotated apex, unaugmented.
    ``checkpoint``: where to save the trained weights (safetensors), written atomically.
    The test subject's labels are not read here: they are attached to the predictions
    afterwards, from ``data``, by the caller.
    """
    seed = _fold_seed(config["seed"], fold.subject)
    torch.manual_seed(seed)
    model = build_model(config, num_classes).to(device)
    train = config["train"]
    shared = shared or Shared()
    forward = _fold_forward(model, data, shared, *_augmentations(config), torch.Generator().manual_seed(seed + 1),
                            device)
    pair_loss: Callable[[torch.Generator], Tensor] | None = None
    sampler = None
    if shared.pairs is not None:
        sampler = PairSampler(shared.pairs, fold.subject,
                              int(model.displacement.pair_batch_size or train["batch_size"]), device)
        pair_loss = lambda generator: model.displacement.pair_loss(*sampler.sample(generator))  # noqa: E731

    start = time.perf_counter()
    history = train_fold(model, forward, fold.train, data.labels[fold.train], num_classes, train, device, seed,
                         fold.subject, progress, pair_loss)
    if model.displacement.trainable:
        model.displacement.refresh_statistics(_training_pairs(data, fold, sampler, int(train["batch_size"]),
                                                              seed + 2, device))
    probs = predict(model, forward, fold.test, int(train["batch_size"]))
    check_trained(model, probs, fold.subject)
    if checkpoint is not None:
        save_checkpoint(model, checkpoint)
    done = {
        "subject": fold.subject,
        "keys": [data.keys[i] for i in fold.test],
        "y_pred": probs.argmax(1).tolist(),
        "probs": probs.round(6).tolist(),
        "train_loss": history,
        "seconds": round(time.perf_counter() - start, 2),
    }
    weights = _mean_fusion_weights(model, forward, fold.test, int(train["batch_size"]))
    if weights:
        done["fusion_weights"] = weights
    return done


def _training_pairs(data: Prepared, fold: Fold, sampler: PairSampler | None, batch_size: int, seed: int,
                    device: torch.device) -> Iterator[tuple[Tensor, Tensor, Tensor | None]]:
    """Batches of the fold's training pairs for a provider's :meth:`refresh_statistics`: self-supervision
    pairs when there are some, else the training rows' onset and apex (never the test subject's)."""
    generator = torch.Generator().manual_seed(seed)
    if sampler is not None:
        for _ in range(REFRESH_BATCHES):
            yield sampler.sample(generator)
        return
    rows = torch.as_tensor(fold.train, dtype=torch.long)
    rows = rows[torch.randperm(len(rows), generator=generator)][:REFRESH_BATCHES * batch_size]
    for start in range(0, len(rows), batch_size):
        idx = rows[start:start + batch_size]
        onset, apex, _ = data.frames(idx, device)
        yield onset, apex, data.masks(idx, device)


def _fold_forward(model: FRLDGT, data: Prepared, shared: Shared, augment: Augment, extra: list[Augmentation],
                  generator: torch.Generator, device: torch.device) -> Callable[[Tensor], tuple[Tensor, Tensor | None]]:
    """rows -> (logits, the provider's own loss or None), in training or evaluation as the model is."""
    if model.fusion.sequence:
        return _sequence_forward(model, data, augment, generator, device)
    channels = data.onset.shape[1]
    vector = slice(2 * channels, 2 * channels + 2) if model.displacement.vector_field else None

    def choose(idx: Tensor) -> Tensor | None:
        if data.apex_choices == 1:
            return None
        return torch.randint(data.apex_choices, (len(idx),), generator=generator)

    def augmented(idx: Tensor, choice: Tensor | None, displacement: Tensor | None) -> tuple[Tensor, ...]:
        onset, apex, landmarks = data.frames(idx, device, choice)
        mask = data.masks(idx, device)
        parts = [onset, apex] if displacement is None else [onset, apex, displacement]
        stack = torch.cat(parts, dim=1)
        if augment.active:
            stack, landmarks, mask = _augment_with_mask(augment, stack, landmarks, mask,
                                                        vector if displacement is not None else None, generator)
        onset, apex = stack[:, :channels], stack[:, channels:2 * channels]
        d = stack[:, 2 * channels:] if displacement is not None else None
        for aug in extra:
            onset, apex, d, landmarks = aug(onset, apex, d, landmarks, vector is not None, generator)
        return onset, apex, landmarks, d, mask

    if shared.inputs:
        evaluate = shared.inputs[0].forward(model, device)
        if shared.displacements is None and len(shared.inputs) == 1:
            return evaluate
        stacks = shared.displacements

        def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
            if not model.training:
                return evaluate(idx)
            choice = choose(idx)
            if stacks is None:  # no augmentation: each row's precomputed regions at its apex choice
                regions, face = FusionInputs.pick(shared.inputs, idx, choice)
                return model.fusion(None if regions is None else regions.to(device).float(),
                                    face.to(device).float()), None
            d = stacks[idx, choice if choice is not None else 0].to(device).float()
            onset, apex, landmarks, d, mask = augmented(idx, choice, d)
            return model.fusion(*model.regions_and_face(onset, apex, landmarks, d, mask)), None

        return forward

    def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
        if not model.training:
            return model(*data.frames(idx, device), mask=data.masks(idx, device)), None
        onset, apex, landmarks, _, mask = augmented(idx, choose(idx), None)
        return model.training_step(onset, apex, landmarks, mask)

    return forward


def _sequence_forward(model: FRLDGT, data: Prepared, augment: Augment, generator: torch.Generator,
                      device: torch.device) -> Callable[[Tensor], tuple[Tensor, Tensor | None]]:
    """rows -> (logits, the provider's loss or None) of a sequence model on the resampled clips.

    Geometric augmentation moves every frame of a clip alike (time is folded into channels); the
    displacements are computed after it, per batch, so they need no rotating.
    """

    def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
        frames, landmarks = data.sequence_frames(idx, device)
        mask = data.masks(idx, device)
        if not model.training:
            return model.forward_sequence(frames, landmarks, mask), None
        if augment.active:
            stack, landmarks, mask = _augment_with_mask(augment, frames.flatten(1, 2), landmarks, mask, None, generator)
            frames = stack.unflatten(1, frames.shape[1:3])
        return model.sequence_training_step(frames, landmarks, mask)

    return forward


def _augment_with_mask(augment: Augment, stack: Tensor, landmarks: Tensor, mask: Tensor | None,
                       vector: slice | None, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None]:
    """:class:`Augment` on ``stack`` with the validity mask moved alike (as one more channel); a
    pixel stays valid only where the warped mask is whole, so the border a rotation brings in is
    invalid too."""
    if mask is None:
        return (*augment(stack, landmarks, vector, generator), None)
    moved, landmarks = augment(torch.cat([stack, mask], dim=1), landmarks, vector, generator)
    return moved[:, :-1], landmarks, (moved[:, -1:] > 0.999).to(mask.dtype)


@torch.no_grad()
def _mean_fusion_weights(model: FRLDGT, forward: Callable[[Tensor], Any], rows: np.ndarray,
                         batch_size: int) -> dict[str, Any]:
    """The fusion layers' softmax weights on the test subject, averaged over samples and heads.

    Run ``batch_size`` rows at a time (a sequence model's batch holds T - 1 steps per row).
    """
    weights_of = getattr(model.fusion, "fusion_weights", None)
    if weights_of is None:
        return {}
    model.eval()
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    index = torch.as_tensor(rows)
    for start in range(0, len(index), batch_size):
        forward(index[start:start + batch_size])
        for name, w in weights_of().items():  # (B, h, n): summed over samples and heads
            sums[name] = sums.get(name, 0) + w.sum((0, 1))
            counts[name] = counts.get(name, 0) + w.shape[0] * w.shape[1]
    means = {name: s / counts[name] for name, s in sums.items()}
    out: dict[str, Any] = {}
    local = sorted((int(k.split("/")[1]), w) for k, w in means.items() if k.startswith("local/"))
    if local:
        out["local"] = torch.stack([w for _, w in local]).cpu().tolist()
    for name, w in means.items():  # global, face, and a sequence head's time
        if not name.startswith("local/"):
            out[name] = w.cpu().tolist()
    return out


def check_train_settings(config: Mapping[str, Any]) -> None:
    """The training settings' types and ranges, checked before any preprocessing so a bad value
    costs no time: ``train.epochs`` and ``train.batch_size`` whole numbers >= 1, ``train.lr`` finite
    and > 0, ``train.weight_decay`` finite and >= 0, ``seed`` a whole number.

    Raises:
        ConfigError: naming the setting, the value given and what it must be.
    """
    train = config["train"]

    def number(key: str, value: Any, kind: type, rule: Callable[[Any], bool], must: str) -> None:
        try:
            parsed = kind(value)
            ok = not isinstance(value, bool) and (kind is not int or parsed == float(value)) and rule(parsed)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"{key} is {value!r}; it must be {must} (e.g. --set {key}=...)")

    number("train.epochs", train["epochs"], int, lambda v: v >= 1, "a whole number of at least 1")
    number("train.batch_size", train["batch_size"], int, lambda v: v >= 1, "a whole number of at least 1")
    number("train.lr", train["lr"], float, lambda v: math.isfinite(v) and v > 0, "a finite number above 0")
    number("train.weight_decay", train.get("weight_decay", 0.0), float, lambda v: math.isfinite(v) and v >= 0,
           "a finite number of at least 0")
    number("seed", config.get("seed", 0), int, lambda v: True, "a whole number")


def run_loso(config: Mapping[str, Any], run_dir: str | Path | None = None, progress: bool = True) -> RunResult:
    """Run leave-one-subject-out training and evaluation as ``config`` says.

    Returns:
        The run's directory and report. Folds already in ``run_dir/folds`` are not trained again.
    """
    check_train_settings(config)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    device = resolve_device(str(config["run"]["device"]))
    dataset = make_dataset(config)
    samples = dataset.samples()
    if not samples:
        raise DataError(f"dataset {config['dataset']['name']!r} has no samples; check dataset.root")
    _check_run_dir(run_dir, config)
    num_classes = len(dataset.classes)
    data = _prepare(config, dataset, samples, progress)
    folds = loso_folds(data.groups)
    if len(folds) < 2:
        raise DataError(f"leave-one-subject-out needs at least 2 subjects; the dataset has {len(folds)}")
    results: dict[str, dict[str, Any]] = {}
    trained, skipped = [], []
    pending = [f for f in folds if not (run_dir / "folds" / f"{f.slug}.json").exists()]
    shared = _shared(config, data, num_classes, device, progress) if pending else Shared()
    bar = tqdm(folds, desc="LOSO", unit="fold", disable=not progress)
    for fold in bar:
        path = run_dir / "folds" / f"{fold.slug}.json"
        keys = [data.keys[i] for i in fold.test]
        if path.exists():
            done = json.loads(path.read_text(encoding="utf-8"))
            if done.get("keys") != keys:
                raise DataError(
                    f"{path} holds predictions for other samples than subject {fold.subject} has "
                    f"now; the dataset changed since the run started: use another --out"
                )
            skipped.append(fold.subject)
        else:
            checkpoint = None
            if config["run"].get("checkpoints", True):
                checkpoint = run_dir / "checkpoints" / f"{fold.slug}.safetensors"
            done = run_fold(config, data, fold, num_classes, device, shared, progress, checkpoint)
            write_atomic(path, json.dumps(done))
            trained.append(fold.subject)
        results[fold.subject] = done
    return _finish(run_dir, config, dataset.classes, data, folds, results, trained, skipped)


def _prepare(config: Mapping[str, Any], dataset: Dataset, samples: list[Any], progress: bool) -> Prepared:
    """Read the frames the chosen model needs: onset/apex (and apex neighbours), or resampled clips."""
    size, color, faces = int(config["face"]["size"]), bool(config["face"]["color"]), FaceReader.from_config(config)
    if not is_sequence_model(config):
        return prepare(samples, dataset.classes, size, color, progress, int(config["train"].get("apex_jitter", 0)),
                       faces)
    if config["train"].get("augmentations"):
        raise ConfigError(
            f"train.augmentations ({', '.join(config['train']['augmentations'])}) work on onset/apex pairs, "
            f"not on the clips of the sequence head {config['fusion']['name']!r}; set train.augmentations: []"
        )
    length, interpolate = sequence_settings(config)
    # No apex jitter: a sequence model sees the whole clip, not an apex.
    return prepare(samples, dataset.classes, size, color, progress, 0, faces, length, interpolate)


def _figures(run_dir: Path, config: Mapping[str, Any], classes: tuple[str, ...], report: dict[str, Any],
             folds: list[dict[str, Any]], title: str) -> None:
    """confusion.png (paper Fig. 8) and, for Fu-B-Attn heads, fusion_weights.png (Fig. 7); for a
    sequence head also time_weights.png (the time fusion layer's weight of each step)."""
    from mezoo.face.au_regions import AU_REGION_NAMES, GRID3X3_NAMES
    from mezoo.figures import confusion_figure, fusion_weights_figure, time_weights_figure

    confusion_figure(report["full"]["confusion"], classes, run_dir / "confusion.png", title)
    weights = [f.get("fusion_weights", {}) for f in folds]
    if all("local" in w and "global" in w for w in weights):
        names = AU_REGION_NAMES if config["regions"]["kind"] == "au9" else GRID3X3_NAMES
        local = np.mean([w["local"] for w in weights], axis=0)
        global_ = np.mean([w["global"] for w in weights], axis=0)
        fusion_weights_figure(local, global_, names, run_dir / "fusion_weights.png",
                              f"{title}: fusion weights, mean over test subjects")
    if weights and all("time" in w for w in weights):
        time_weights_figure(np.mean([w["time"] for w in weights], axis=0), run_dir / "time_weights.png",
                            f"{title}: time fusion weights, mean over test subjects")


def _finish(run_dir: Path, config: Mapping[str, Any], classes: tuple[str, ...], data: Prepared,
            folds: list[Fold], results: dict[str, dict[str, Any]], trained: list[str],
            skipped: list[str]) -> RunResult:
    """Pool every fold's predictions, score them against the labels, write the report files."""
    index = {k: i for i, k in enumerate(data.keys)}
    rows: list[int] = []
    y_pred: list[int] = []
    probs: list[list[float]] = []
    for fold in folds:
        done = results[fold.subject]
        rows += [index[k] for k in done["keys"]]
        y_pred += done["y_pred"]
        probs += done["probs"]
    rows_arr = np.asarray(rows)
    report = build_report(classes, data.parts[rows_arr], data.labels[rows_arr], np.asarray(y_pred))
    report["run"] = {
        "dataset": config["dataset"]["name"],
        "displacement": config["displacement"]["name"],
        "fusion": config["fusion"]["name"],
        "folds": len(folds),
        "fingerprint": fingerprint(config),
        # training and prediction of every fold, summed (preparation and precomputation excluded)
        "fold_seconds": round(sum(float(results[f.subject].get("seconds", 0.0)) for f in folds), 1),
    }
    title = f"{config['displacement']['name']} + {config['fusion']['name']}"
    text = markdown(report, title)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["key", "subject", "part", "true", "predicted"] + [f"p_{c}" for c in classes])
    for r, pred, p in zip(rows, y_pred, probs):
        writer.writerow([data.keys[r], data.groups[r], data.parts[r], classes[data.labels[r]], classes[pred]]
                        + [f"{v:.4f}" for v in p])
    write_atomic(run_dir / "predictions.csv", table.getvalue())
    _figures(run_dir, config, classes, report, [results[f.subject] for f in folds], title)
    write_atomic(run_dir / "report.json", json.dumps(report, indent=2))
    write_atomic(run_dir / "report.md", f"# mezoo run: {title} on {config['dataset']['name']}\n\n{text}")
    return RunResult(run_dir=run_dir, report=report, markdown=text, trained=trained, skipped=skipped)
