"""``mezoo train``: one model on every subject of a dataset, written as a model directory.

LOSO trains one model per fold to measure how well the method generalises to new people; the
model to use on new people is trained on all of them, with the same settings, for the same
number of epochs (nothing is chosen on held-out data, so there is nothing to hold out).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mezoo.engine.fit import TrainingContext, fit_model
from mezoo.engine.frames import Frames
from mezoo.engine.inputs import choose_input_path
from mezoo.engine.loop import check_trained, predict
from mezoo.engine.setup import setup
from mezoo.errors import StorageError
from mezoo.inference.modeldir import MODEL_FILE, write_model_dir
from mezoo.layout import default_model_dir
from mezoo.model import FRLDGT
from mezoo.settings import Settings


def train_model(settings: Settings, out: str | Path | None = None, progress: bool = True) -> Path:
    """Train the model of ``settings`` on every sample of its dataset and write a model directory.

    Everything that can be checked without the data (settings, device, sizes, ``out``) is checked
    before any frame is read.

    Returns:
        The model directory (read it with :func:`mezoo.load_model`).

    Raises:
        StorageError: ``out`` already holds a model.
        ConfigError, DataError: as :func:`mezoo.engine.setup.setup` says.
        TrainingError: the loss or the weights stopped being finite.
    """
    if settings.classical:
        from mezoo.errors import ConfigError

        raise ConfigError(f"mezoo train makes a network for `mezoo predict`; the classical baseline features "
                          f"{settings.features.name!r} + classifier {settings.classifier.name!r} is evaluated by "
                          f"`mezoo run` and `mezoo zoo` only: set features.name: none to train a network")
    out = Path(out) if out is not None else default_model_dir(settings)
    if (out / MODEL_FILE).exists():
        raise StorageError(f"{out} already holds a model; pass another --out, or delete it to train again")
    trained = fit_deployment(settings, progress)
    return write_model_dir(out, settings, trained.model, trained.classes, trained.data, trained.seconds)


@dataclass
class Trained:
    """A model trained on every sample: the model (on the CPU, in evaluation mode), its class names,
    a summary of its training data (:func:`data_summary`) and the seconds training took."""

    model: FRLDGT
    classes: tuple[str, ...]
    data: dict[str, Any]
    seconds: float


def fit_deployment(settings: Settings, progress: bool = True) -> Trained:
    """Train the model of ``settings`` on every sample of its dataset (:func:`train_model` without the writing)."""
    checked = setup(settings)
    classes, device = checked.classes, checked.device
    path = choose_input_path(settings, checked.model)
    data = path.read(settings, checked.dataset, checked.samples, progress)
    context = TrainingContext(settings, data, path.compute(settings, checked.model, data, device, progress), len(classes),
                              progress)
    start = time.perf_counter()
    rows = np.arange(len(data.keys))
    fitted = fit_model(context, rows, device, name="all subjects")
    check_trained(fitted.model, predict(fitted.model, fitted.forward, rows[: settings.train.batch_size],
                                        settings.train.batch_size), "all subjects")
    seconds = time.perf_counter() - start
    return Trained(fitted.model.cpu(), classes, data_summary(settings, data, classes), seconds)


def data_summary(settings: Settings, data: Frames, classes: tuple[str, ...]) -> dict[str, Any]:
    """What a model was trained on: dataset, root, samples, subjects, samples per class and per part."""
    counts = Counter(classes[i] for i in data.labels.tolist())
    return {
        "dataset": settings.dataset.name,
        "root": settings.dataset.root,
        "samples": len(data.keys),
        "subjects": len(set(data.groups.tolist())),
        "classes": {c: counts.get(c, 0) for c in classes},
        "parts": dict(sorted(Counter(data.parts.tolist()).items())),
    }
