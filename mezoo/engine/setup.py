"""What a run checks before it reads any frame: the device, the dataset and its samples, and the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mezoo.data.registry import make_dataset
from mezoo.data.sample import Dataset
from mezoo.devices import resolve_device
from mezoo.errors import DataError
from mezoo.model import FRLDGT, build_model
from mezoo.settings import Settings


@dataclass
class Setup:
    """The ``device`` to train on, the ``dataset`` and its ``samples``, and a ``model`` of the chosen
    components (untrained: it computes what every model of the run shares; each trains its own)."""

    device: torch.device
    dataset: Dataset
    model: FRLDGT
    samples: list[Any]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.dataset.classes)


def setup(settings: Settings) -> Setup:
    """What can be checked before any frame is read: the device, the dataset and its samples, and a
    model of the chosen components (its sizes and options checked).

    Raises:
        ConfigError: a device, size or option that cannot be used; DataError: no samples.
    """
    device = resolve_device(settings.run.device)
    dataset = make_dataset(settings.dataset)
    model = build_model(settings, len(dataset.classes))
    samples = dataset.samples()
    if not samples:
        raise DataError(f"dataset {settings.dataset.name!r} has no samples; check dataset.root")
    return Setup(device, dataset, model, samples)
