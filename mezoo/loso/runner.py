"""A whole LOSO run: data, displacement, one training per fold, pooled report, run directory.

The run directory (:mod:`mezoo.loso.rundir`) holds ``config.yaml`` (the resolved settings),
``folds/<subject>.json`` (each fold's predictions and the fingerprint of its settings, written
atomically when the fold ends), ``predictions.csv``, ``report.json`` and ``report.md``. Running the
same settings into the same directory again skips the folds already written, so an interrupted
run resumes where it stopped; two runs started on one directory share the folds.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from mezoo import plugins
from mezoo.augment import Augment, Augmentation
from mezoo.data.cache import DiskCache
from mezoo.data.registry import make_dataset
from mezoo.data.sample import Dataset
from mezoo.displacement.base import REFRESH_BATCHES
from mezoo.errors import ConfigError, DataError
from mezoo.face.pipeline import FaceReader
from mezoo.files import write_atomic
from mezoo.loso.folds import Fold, loso_folds
from mezoo.loso.precompute import precompute_displacements, provider_id
from mezoo.loso.prepare import Pairs, Prepared, prepare, read_pairs
from mezoo.loso.report import build_report, markdown
from mezoo.loso.rundir import RunDir
from mezoo.loso.trainer import check_trained, predict, train_fold
from mezoo.model import FRLDGT, build_model, is_sequence_model
from mezoo.settings import Settings, load_settings


@dataclass
class RunResult:
    """What a run produced: its directory, the report and which folds this call trained."""

    run_dir: Path
    report: dict[str, Any]
    markdown: str
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; anything else as torch reads it.

    Raises:
        ConfigError: torch cannot read the name, or it asks for CUDA that is not there.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"run.device {name!r} is not a device torch knows; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this torch sees no CUDA device; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r} asked for, but this machine has {torch.cuda.device_count()} CUDA "
                          f"device(s), numbered from 0")
    return device


def default_run_dir(settings: Settings) -> Path:
    """``run.out``, else ``runs/<dataset>-<displacement>-<fusion>-<fingerprint>``."""
    if settings.run.out:
        return Path(settings.run.out)
    parts = [settings.dataset.name, settings.displacement.name, settings.fusion.name]
    return Path("runs") / ("-".join(parts) + f"-{settings.fingerprint}")


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


def shared_inputs(settings: Settings, model: FRLDGT, data: Prepared, device: torch.device, progress: bool) -> Shared:
    """What every model trained on ``data`` shares, computed once (see :class:`Shared`)."""
    provider = model.displacement
    size, color = settings.face.size, settings.face.color
    if provider.trainable or model.fusion.sequence:  # sequences: displacements computed per batch
        if not provider.pairs_per_clip:
            return Shared()
        return Shared(pairs=read_pairs(data.samples, provider.pairs_per_clip, size, color, settings.seed,
                                       progress, data.faces))
    name, options = settings.displacement.name, settings.displacement.chosen()
    cache = DiskCache(settings.run.cache_dir)
    batch_size = settings.train.batch_size
    model = model.to(device)
    per_choice = [
        precompute_displacements(provider, provider_id(name, options, provider), data.view(c), size, color, cache, device,
                                 batch_size, progress)
        for c in range(data.apex_choices)
    ]
    geometric, extra = _augmentations(settings)
    if geometric.active or extra:
        inputs = [FusionInputs.compute(model, data, per_choice[0], device, batch_size, progress)]
        return Shared(inputs=inputs, displacements=torch.stack(per_choice, dim=1).half())
    inputs = [FusionInputs.compute(model, data.view(c), d, device, batch_size, progress)
              for c, d in enumerate(per_choice)]
    return Shared(inputs=inputs)


def _augmentations(settings: Settings) -> tuple[Augment, list[Augmentation]]:
    """The geometric augmentation (``train.augment``) and the registered ones in ``train.augmentations``."""
    geometric = Augment(**dataclasses.asdict(settings.train.augment))
    extra = [plugins.make("augmentation", name, **(settings.augmentation.get(name) or {}))
             for name in settings.train.augmentations]
    return geometric, extra


def _fold_seed(seed: int, subject: str) -> int:
    # Depends on the subject, not the fold's position, so folds reproduce alone or in parallel.
    return (int(seed) * 1_000_003 + zlib.crc32(subject.encode())) % 2**31


def fit_model(settings: Settings, data: Prepared, train_rows: np.ndarray, num_classes: int, device: torch.device,
              shared: Shared | None = None, progress: bool = True, held_out: str = "",
              name: str = "model") -> tuple[FRLDGT, list[float], Callable[[Tensor], tuple[Tensor, Tensor | None]]]:
    """Build the model of ``settings`` and train it on the rows ``train_rows`` of ``data``.

    ``held_out``: a LOSO group whose self-supervision pairs are never used (a fold's test
    subject; empty to use every pair, as the deployment model of ``mezoo train`` does). Training
    picks a random apex among its neighbours (``train.apex_jitter``) and augments batches
    (``train.augment``). The model is seeded by ``name`` (a fold's subject), so it reproduces alone
    or in parallel.

    Returns:
        The trained model (in evaluation mode), the loss of each epoch, and the forward that
        maps rows of ``data`` to logits (unaugmented, at the annotated apex, in evaluation mode).

    Raises:
        TrainingError: the loss or the weights stopped being finite.
    """
    seed = _fold_seed(settings.seed, name)
    torch.manual_seed(seed)
    model = build_model(settings, num_classes).to(device)
    train = settings.train
    shared = shared or Shared()
    forward = _fold_forward(model, data, shared, *_augmentations(settings), torch.Generator().manual_seed(seed + 1),
                            device)
    pair_loss: Callable[[torch.Generator], Tensor] | None = None
    sampler = None
    if shared.pairs is not None:
        sampler = PairSampler(shared.pairs, held_out, int(model.displacement.pair_batch_size or train.batch_size),
                              device)
        pair_loss = lambda generator: model.displacement.pair_loss(*sampler.sample(generator))  # noqa: E731
    history = train_fold(model, forward, train_idx=train_rows, train_labels=data.labels[train_rows],
                         num_classes=num_classes, train=train, device=device, seed=seed, fold_name=name,
                         progress=progress, pair_loss=pair_loss)
    if model.displacement.trainable:
        model.displacement.refresh_statistics(_training_pairs(data, train_rows, sampler, train.batch_size, seed + 2,
                                                              device))
    model.eval()
    return model, history, forward


def run_fold(settings: Settings, data: Prepared, fold: Fold, num_classes: int, device: torch.device,
             shared: Shared | None = None, progress: bool = True) -> tuple[dict[str, Any], FRLDGT]:
    """Train on the fold's training subjects (:func:`fit_model`), then predict its test subject.

    ``shared``: what :func:`shared_inputs` computed once for all folds (self-supervision pairs of the
    test subject are left out here). Evaluation uses the annotated apex, unaugmented.
    The test subject's labels are not read here: they are attached to the predictions
    afterwards, from ``data``, by the caller.

    Returns:
        The fold's result (predictions, losses, seconds, fusion weights) and the trained model.

    Raises:
        TrainingError: the loss, the weights or the predictions stopped being finite.
    """
    start = time.perf_counter()
    model, history, forward = fit_model(settings, data, fold.train, num_classes, device, shared, progress,
                                        held_out=fold.subject, name=fold.subject)
    batch_size = settings.train.batch_size
    probs = predict(model, forward, fold.test, batch_size)
    check_trained(model, probs, fold.subject)
    done = {
        "subject": fold.subject,
        "keys": [data.keys[i] for i in fold.test],
        "y_pred": probs.argmax(1).tolist(),
        "probs": probs.round(6).tolist(),
        "train_loss": history,
        "seconds": round(time.perf_counter() - start, 2),
    }
    weights = _mean_fusion_weights(model, forward, fold.test, batch_size)
    if weights:
        done["fusion_weights"] = weights
    return done, model


def _training_pairs(data: Prepared, train_rows: np.ndarray, sampler: PairSampler | None, batch_size: int,
                    seed: int, device: torch.device) -> Iterator[tuple[Tensor, Tensor, Tensor | None]]:
    """Batches of the fold's training pairs for a provider's :meth:`refresh_statistics`: self-supervision
    pairs when there are some, else the training rows' onset and apex (never the test subject's)."""
    generator = torch.Generator().manual_seed(seed)
    if sampler is not None:
        for _ in range(REFRESH_BATCHES):
            yield sampler.sample(generator)
        return
    rows = torch.as_tensor(train_rows, dtype=torch.long)
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


def run_loso(settings: Settings | Mapping[str, Any], run_dir: str | Path | None = None,
             progress: bool = True) -> RunResult:
    """Run leave-one-subject-out training and evaluation as ``settings`` say.

    ``settings``: from :func:`~mezoo.settings.load_settings`; a plain mapping is read as
    overrides of the defaults by that function (so component defaults apply).
    Everything that can be checked without the data (settings, device, the model's sizes, the run
    directory) is checked before any frame is read.

    Returns:
        The run's directory and report. Folds already in ``run_dir/folds`` are not trained again;
        a fold another process is training is waited for, not trained twice.
    """
    if not isinstance(settings, Settings):
        settings = load_settings(overrides=settings)
    run = RunDir(run_dir if run_dir is not None else default_run_dir(settings), settings)
    device, dataset, model, samples = setup(settings)
    num_classes = len(dataset.classes)
    run.open()
    data = prepare_run_data(settings, dataset, samples, progress)
    folds = loso_folds(data.groups)
    if len(folds) < 2:
        raise DataError(f"leave-one-subject-out needs at least 2 subjects; the dataset has {len(folds)}")
    keys = {f.subject: [data.keys[i] for i in f.test] for f in folds}
    results = {f.subject: done for f in folds if (done := run.finished(f, keys[f.subject])) is not None}
    skipped, trained = list(results), []
    shared = shared_inputs(settings, model, data, device, progress) if len(results) < len(folds) else Shared()

    def take(fold: Fold, wait: bool) -> dict[str, Any] | None:
        """The fold's result: read back if some run finished it, else trained here; ``None`` when
        another run holds it and ``wait`` is False."""
        with run.claim(fold, wait=wait) as mine:
            if not mine:
                return None
            done = run.finished(fold, keys[fold.subject])  # another run may have finished it meanwhile
            if done is not None:
                skipped.append(fold.subject)
                return done
            done, fold_model = run_fold(settings, data, fold, num_classes, device, shared, progress)
            if settings.run.checkpoints:
                run.save_checkpoint(fold, fold_model)
            run.save_fold(fold, done)
            trained.append(fold.subject)
            return done

    elsewhere = []  # folds another run on this directory is training: waited for at the end
    for fold in tqdm([f for f in folds if f.subject not in results], desc="LOSO", unit="fold", disable=not progress):
        if (done := take(fold, wait=False)) is None:
            elsewhere.append(fold)
        else:
            results[fold.subject] = done
    for fold in elsewhere:
        if progress:
            tqdm.write(f"fold {fold.subject} is being trained by another run on {run.path}; waiting for it")
        results[fold.subject] = take(fold, wait=True)  # trained here if that run stopped first
    return _finish(run.path, settings, dataset.classes, data, folds, results, trained, skipped)


def setup(settings: Settings) -> tuple[torch.device, Dataset, FRLDGT, list[Any]]:
    """What can be checked before any frame is read: the device, the dataset and its samples, and a
    model of the chosen components (its sizes and options checked; training builds its own).

    Raises:
        ConfigError: a device, size or option that cannot be used; DataError: no samples.
    """
    device = resolve_device(settings.run.device)
    dataset = make_dataset(settings.dataset)
    model = build_model(settings, len(dataset.classes))
    samples = dataset.samples()
    if not samples:
        raise DataError(f"dataset {settings.dataset.name!r} has no samples; check dataset.root")
    return device, dataset, model, samples


def prepare_run_data(settings: Settings, dataset: Dataset, samples: list[Any], progress: bool) -> Prepared:
    """Read the frames the chosen model needs: onset/apex (and apex neighbours), or resampled clips."""
    size, color = settings.face.size, settings.face.color
    faces = FaceReader.from_settings(settings.face, settings.run.cache_dir)
    if not is_sequence_model(settings):
        return prepare(samples, dataset.classes, size, color, progress, settings.train.apex_jitter, faces)
    if settings.train.augmentations:
        raise ConfigError(
            f"train.augmentations ({', '.join(settings.train.augmentations)}) work on onset/apex pairs, "
            f"not on the clips of the sequence head {settings.fusion.name!r}; set train.augmentations: []"
        )
    interpolate = plugins.get("interpolator", settings.sequence.interpolator)
    # No apex jitter: a sequence model sees the whole clip, not an apex.
    return prepare(samples, dataset.classes, size, color, progress, 0, faces, settings.sequence.length, interpolate)


def _figures(run_dir: Path, settings: Settings, classes: tuple[str, ...], report: dict[str, Any],
             folds: list[dict[str, Any]], title: str) -> None:
    """confusion.png (paper Fig. 8) and, for Fu-B-Attn heads, fusion_weights.png (Fig. 7); for a
    sequence head also time_weights.png (the time fusion layer's weight of each step)."""
    from mezoo.face.au_regions import AU_REGION_NAMES, GRID3X3_NAMES
    from mezoo.figures import confusion_figure, fusion_weights_figure, time_weights_figure

    confusion_figure(report["full"]["confusion"], classes, run_dir / "confusion.png", title)
    weights = [f.get("fusion_weights", {}) for f in folds]
    if all("local" in w and "global" in w for w in weights):
        names = AU_REGION_NAMES if settings.regions.kind == "au9" else GRID3X3_NAMES
        local = np.mean([w["local"] for w in weights], axis=0)
        global_ = np.mean([w["global"] for w in weights], axis=0)
        fusion_weights_figure(local, global_, names, run_dir / "fusion_weights.png",
                              f"{title}: fusion weights, mean over test subjects")
    if weights and all("time" in w for w in weights):
        time_weights_figure(np.mean([w["time"] for w in weights], axis=0), run_dir / "time_weights.png",
                            f"{title}: time fusion weights, mean over test subjects")


def _finish(run_dir: Path, settings: Settings, classes: tuple[str, ...], data: Prepared,
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
        "dataset": settings.dataset.name,
        "displacement": settings.displacement.name,
        "fusion": settings.fusion.name,
        "folds": len(folds),
        "fingerprint": settings.fingerprint,
        # training and prediction of every fold, summed (preparation and precomputation excluded)
        "fold_seconds": round(sum(float(results[f.subject].get("seconds", 0.0)) for f in folds), 1),
    }
    title = f"{settings.displacement.name} + {settings.fusion.name}"
    text = markdown(report, title)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["key", "subject", "part", "true", "predicted"] + [f"p_{c}" for c in classes])
    for r, pred, p in zip(rows, y_pred, probs):
        writer.writerow([data.keys[r], data.groups[r], data.parts[r], classes[data.labels[r]], classes[pred]]
                        + [f"{v:.4f}" for v in p])
    write_atomic(run_dir / "predictions.csv", table.getvalue())
    _figures(run_dir, settings, classes, report, [results[f.subject] for f in folds], title)
    write_atomic(run_dir / "report.json", json.dumps(report, indent=2))
    write_atomic(run_dir / "report.md", f"# mezoo run: {title} on {settings.dataset.name}\n\n{text}")
    return RunResult(run_dir=run_dir, report=report, markdown=text, trained=trained, skipped=skipped)
