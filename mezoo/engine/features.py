"""How a classical model meets its samples: each sample's features computed once per run, a
scikit-learn classifier fitted per fold on its training subjects' features.

Two input paths, by what the extractor reads (:attr:`FeatureExtractor.reads`): :class:`PairFeatures`
(onset, apex and the chosen displacement provider's displacement, disk-cached like any
deterministic provider's) and :class:`ClipFeatures` (the clip resampled to ``sequence.length``
frames). Both ship only the feature matrix to the executor's workers; :func:`fit_classifier` is what a fold
does with it.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from mezoo import plugins
from mezoo.classical.base import FeatureExtractor
from mezoo.data.cache import DiskCache, digest
from mezoo.data.faces import FaceReader
from mezoo.data.sample import Dataset
from mezoo.displacement.warp import luminance
from mezoo.engine.fit import model_seed
from mezoo.engine.frames import Frames, read_frames
from mezoo.engine.inputs import InputPath, Resampled, _precompute
from mezoo.engine.loop import Forward
from mezoo.engine.precompute import provider_id
from mezoo.errors import ConfigError, DataError, MezooError
from mezoo.model import FRLDGT
from mezoo.settings import Settings

def make_extractor(settings: Settings) -> FeatureExtractor:
    """The chosen feature extractor, built with its options."""
    return plugins.make("features", settings.features.name, **settings.features.chosen())


def features_path(settings: Settings) -> type[InputPath]:
    """The input path of the chosen extractor: :class:`ClipFeatures` or :class:`PairFeatures`."""
    extractor = plugins.get("features", settings.features.name)
    reads = getattr(extractor, "reads", None)
    if reads not in ("pair", "clip"):
        raise ConfigError(f"features {settings.features.name!r} reads {reads!r}; a feature extractor's `reads` "
                          f"is 'pair' or 'clip' (fix the plugin that registers it)")
    return ClipFeatures if reads == "clip" else PairFeatures


def grey(frames: Tensor) -> np.ndarray:
    """``(N, C, H, W)`` floats in [0, 1] -> ``(N, H, W)`` float32: the luminance of RGB (ITU-R 601
    weights, :func:`mezoo.displacement.warp.luminance`), the channel of grey."""
    return luminance(frames)[:, 0].numpy().astype(np.float32)


@dataclass
class _Features(InputPath):
    """Every sample's feature vector, ``features`` ``(N, F)`` float32."""

    features: np.ndarray
    classical: ClassVar[bool] = True

    @classmethod
    def compute(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> _Features:
        """Every sample's features, from the disk cache where they are there (each computed one is
        saved at once, so a stopped run keeps what it computed)."""
        extractor = make_extractor(settings)
        name = settings.features.name
        displacements = cls.displacements(settings, model, data, device, progress)
        fid = provider_id(name, settings.features.chosen()) + f"@{type(extractor).__qualname__}:{extractor.cache_version}"
        if displacements is not None:
            fid += "|" + provider_id(settings.displacement.name, settings.displacement.chosen(), model.displacement)
            fid += f"|color={settings.face.color}"  # (the provider saw the colour frames; the extractor sees their luma)
        cache = DiskCache(settings.run.cache_dir, "features")
        rows: list[np.ndarray] = []
        for i in tqdm(range(len(data.keys)), desc=f"features ({name})", unit="sample", disable=not progress,
                      leave=False):
            frames = cls.frames_of(data, i)
            mask = None if data.mask is None else data.mask[i, 0].numpy() > 0
            key = digest("features", fid, data.keys[i], frames, mask)
            vector = cache.load(key)
            if vector is None:
                d = None if displacements is None else displacements[i].float().numpy()
                vector = _extract(extractor, name, data.keys[i], frames, d, mask)
                cache.save(key, vector)
            if rows and vector.shape != rows[0].shape:
                raise DataError(f"features {name!r} gave {vector.size} features for sample {data.keys[i]} but "
                                f"{rows[0].size} for {data.keys[0]}; an extractor must give every sample of a run "
                                f"the same length")
            rows.append(vector)
        return cls(np.stack(rows))

    @classmethod
    def displacements(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                      progress: bool) -> Tensor | None:
        return None

    @classmethod
    @abstractmethod
    def frames_of(cls, data: Frames, row: int) -> np.ndarray:
        """The grey frames the extractor reads for row ``row`` of ``data``, ``(T, H, W)``."""

    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        raise MezooError("a classical model has no network forward; its folds fit a classifier on features")


@dataclass
class PairFeatures(_Features):
    """Features of the onset, the apex and the chosen provider's displacement."""

    name: ClassVar[str] = "features (onset, apex)"

    @classmethod
    def read(cls, settings: Settings, dataset: Dataset, samples: list[Any], progress: bool) -> Frames:
        """Each sample's onset and annotated apex (no neighbours: features are computed once)."""
        faces = FaceReader.from_settings(settings.face, settings.run.cache_dir)
        return read_frames(samples, dataset.classes, settings.face.size, settings.face.color, progress, 0, faces)

    @classmethod
    def displacements(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                      progress: bool) -> Tensor | None:
        if model.displacement.trainable:
            raise ConfigError(f"features {settings.features.name!r} read the displacement of a fixed provider; "
                              f"{settings.displacement.name!r} trains with the model: choose farneback or tvl1 "
                              f"(or the DGM with weights and finetune_lr 0)")
        return _precompute(settings, model.to(device), data, device, progress)[0].cpu()

    @classmethod
    def frames_of(cls, data: Frames, row: int) -> np.ndarray:
        onset, apex, _ = data.frames(torch.tensor([row]), "cpu")
        return grey(torch.cat([onset, apex]))


@dataclass
class ClipFeatures(_Features):
    """Features of the clip resampled to ``sequence.length`` frames."""

    name: ClassVar[str] = "features (clip)"
    read = Resampled.read

    @classmethod
    def frames_of(cls, data: Frames, row: int) -> np.ndarray:
        frames, _ = data.sequence_frames(torch.tensor([row]), "cpu")
        return grey(frames[0])


def _extract(extractor: FeatureExtractor, name: str, key: str, frames: np.ndarray, displacement: np.ndarray | None,
             mask: np.ndarray | None) -> np.ndarray:
    """One sample's feature vector, checked: one line naming the sample when the extractor fails or
    gives values that are not finite."""
    try:
        vector = np.asarray(extractor.extract(frames, displacement, mask), dtype=np.float32).ravel()
    except MezooError:
        raise
    except Exception as exc:
        raise DataError(f"features {name!r} failed on sample {key} ({type(exc).__name__}: {exc})") from exc
    if not np.isfinite(vector).all():
        raise DataError(f"features {name!r} of sample {key} are not finite; check its frames (or the extractor)")
    return vector


def fit_classifier(settings: Settings, features: np.ndarray, labels: np.ndarray, name: str) -> Any:
    """The chosen classifier fitted on ``features`` and ``labels``, seeded by ``name`` (a fold's)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    classifier = plugins.make("classifier", settings.classifier.name, **settings.classifier.chosen())
    estimator = classifier.build("balanced" if settings.train.class_weight == "balanced" else None,
                                 model_seed(settings.seed, name))
    if len(np.unique(labels)) < 2:
        raise DataError(f"fold {name}: its training samples have one class only; a classifier needs two or more")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # (LinearSVC on a few samples: reported by the scores)
        estimator.fit(features, labels)
    return estimator
