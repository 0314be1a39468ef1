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
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import Tensor
from tqdm.auto import tqdm

from mezoo import plugins
from mezoo.config import component_options, dump, fingerprint
from mezoo.data.sample import Dataset
from mezoo.errors import ConfigError, DataError
from mezoo.loso.folds import Fold, loso_folds
from mezoo.loso.prepare import Prepared, prepare
from mezoo.loso.report import build_report, markdown
from mezoo.loso.trainer import predict, train_fold
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


def make_dataset(config: Mapping[str, Any]) -> Dataset:
    """The configured dataset plugin, built with its root and options."""
    name, options = component_options(config, "dataset")
    return plugins.make("dataset", name, root=config["dataset"].get("root"), **options)


def build_model(config: Mapping[str, Any], num_classes: int) -> FRLDGT:
    """FRL-DGT from the config: the chosen displacement provider and fusion head."""
    d_name, d_options = component_options(config, "displacement")
    f_name, f_options = component_options(config, "fusion")
    regions = config["regions"]
    in_channels = (3 if config["face"]["color"] else 1) * 2 + 2
    fusion = plugins.make(
        "fusion", f_name, in_channels=in_channels, num_classes=num_classes, num_regions=9,
        region_size=int(regions["size"]), face_size=int(regions["full_face_size"]), **f_options,
    )
    provider = plugins.make("displacement", d_name, **d_options)
    return FRLDGT(provider, fusion, regions=str(regions["kind"]), region_size=int(regions["size"]),
                  full_face_size=int(regions["full_face_size"]))


def _write_atomic(path: Path, text: str) -> None:
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


def _check_run_dir(run_dir: Path, config: Mapping[str, Any]) -> None:
    existing = run_dir / "config.yaml"
    if existing.exists():
        old = yaml.safe_load(existing.read_text(encoding="utf-8")) or {}
        if fingerprint(old) != fingerprint(config):
            raise ConfigError(
                f"run directory {run_dir} holds a run with other settings; pass another --out, "
                f"or delete it to start again"
            )
    _write_atomic(existing, dump(config))


@dataclass
class FusionInputs:
    """The fusion head's inputs for every sample, computed once for a deterministic provider.

    Stored as float16 on the CPU: ``regions`` ``(N, K, M, R, R)`` (``None`` for heads that take
    no regions) and ``face`` ``(N, M, S, S)``.
    """

    regions: Tensor | None
    face: Tensor

    @classmethod
    def compute(cls, model: FRLDGT, data: Prepared, device: torch.device, batch_size: int,
                progress: bool) -> FusionInputs:
        regions, faces = [], []
        rows = torch.arange(len(data.keys))
        with torch.no_grad():
            for start in tqdm(range(0, len(rows), batch_size), desc="displacement + regions", unit="batch",
                              disable=not progress, leave=False):
                r, f = model.inputs(*data.frames(rows[start:start + batch_size], device))
                if r is not None:
                    regions.append(r.half().cpu())
                faces.append(f.half().cpu())
        return cls(torch.cat(regions) if regions else None, torch.cat(faces))

    def forward(self, model: FRLDGT, device: torch.device) -> Callable[[Tensor], Tensor]:
        """rows -> logits of ``model``'s fusion head on the stored inputs."""

        def forward(idx: Tensor) -> Tensor:
            r = None if self.regions is None else self.regions[idx].to(device).float()
            return model.fusion(r, self.face[idx].to(device).float())

        return forward


def _deterministic_inputs(config: Mapping[str, Any], data: Prepared, num_classes: int,
                          device: torch.device, progress: bool) -> FusionInputs | None:
    """Fusion inputs of every sample if the provider is deterministic (computed once), else ``None``."""
    model = build_model(config, num_classes).to(device)
    if model.displacement.trainable:
        return None
    return FusionInputs.compute(model, data, device, int(config["train"]["batch_size"]), progress)


def _fold_seed(seed: int, subject: str) -> int:
    # Depends on the subject, not the fold's position, so folds reproduce alone or in parallel.
    return (int(seed) * 1_000_003 + zlib.crc32(subject.encode())) % 2**31


def run_fold(config: Mapping[str, Any], data: Prepared, fold: Fold, num_classes: int,
             device: torch.device, inputs: FusionInputs | None = None, progress: bool = True) -> dict[str, Any]:
    """Train on the fold's training subjects, then predict its test subject.

    ``inputs``: the precomputed fusion inputs when the displacement provider is deterministic.
    The test subject's labels are not read here: they are attached to the predictions
    afterwards, from ``data``, by the caller.
    """
    seed = _fold_seed(config["seed"], fold.subject)
    torch.manual_seed(seed)
    model = build_model(config, num_classes).to(device)
    train = config["train"]
    if inputs is not None:
        forward = inputs.forward(model, device)
    else:
        def forward(idx: Tensor) -> Tensor:
            return model(*data.frames(idx, device))
    start = time.perf_counter()
    history = train_fold(model, forward, fold.train, data.labels, num_classes, train, device, seed,
                         fold.subject, progress)
    probs = predict(model, forward, fold.test, int(train["batch_size"]))
    return {
        "subject": fold.subject,
        "keys": [data.keys[i] for i in fold.test],
        "y_pred": probs.argmax(1).tolist(),
        "probs": probs.round(6).tolist(),
        "train_loss": history,
        "seconds": round(time.perf_counter() - start, 2),
    }


def run_loso(config: Mapping[str, Any], run_dir: str | Path | None = None, progress: bool = True) -> RunResult:
    """Run leave-one-subject-out training and evaluation as ``config`` says.

    Returns:
        The run's directory and report. Folds already in ``run_dir/folds`` are not trained again.
    """
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    device = resolve_device(str(config["run"]["device"]))
    dataset = make_dataset(config)
    samples = dataset.samples()
    if not samples:
        raise DataError(f"dataset {config['dataset']['name']!r} has no samples; check dataset.root")
    _check_run_dir(run_dir, config)
    num_classes = len(dataset.classes)
    data = prepare(samples, dataset.classes, int(config["face"]["size"]), bool(config["face"]["color"]),
                   progress)
    folds = loso_folds(data.groups)
    if len(folds) < 2:
        raise DataError(f"leave-one-subject-out needs at least 2 subjects; the dataset has {len(folds)}")
    results: dict[str, dict[str, Any]] = {}
    trained, skipped = [], []
    pending = [f for f in folds if not (run_dir / "folds" / f"{f.slug}.json").exists()]
    inputs = _deterministic_inputs(config, data, num_classes, device, progress) if pending else None
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
            done = run_fold(config, data, fold, num_classes, device, inputs, progress)
            _write_atomic(path, json.dumps(done))
            trained.append(fold.subject)
        results[fold.subject] = done
    return _finish(run_dir, config, dataset.classes, data, folds, results, trained, skipped)


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
    }
    title = f"{config['displacement']['name']} + {config['fusion']['name']}"
    text = markdown(report, title)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["key", "subject", "part", "true", "predicted"] + [f"p_{c}" for c in classes])
    for r, pred, p in zip(rows, y_pred, probs):
        writer.writerow([data.keys[r], data.groups[r], data.parts[r], classes[data.labels[r]], classes[pred]]
                        + [f"{v:.4f}" for v in p])
    _write_atomic(run_dir / "predictions.csv", table.getvalue())
    _write_atomic(run_dir / "report.json", json.dumps(report, indent=2))
    _write_atomic(run_dir / "report.md", f"# mezoo run: {title} on {config['dataset']['name']}\n\n{text}")
    return RunResult(run_dir=run_dir, report=report, markdown=text, trained=trained, skipped=skipped)
