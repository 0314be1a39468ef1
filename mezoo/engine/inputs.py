"""How a model meets its samples: the input path, chosen once per run.

:func:`choose_input_path` picks one of five paths from the model and the training settings:

- :class:`Precomputed`: a deterministic provider (Farneback, the shipped DGM, ...), no apex jitter,
  no augmentation. The fusion head's inputs (region crops and full face) are computed once per
  run; a fold trains the head alone on them.
- :class:`Jittered`: the same with ``train.apex_jitter``: the head's inputs at the apex and at each
  neighbour; training picks one per row, evaluation the annotated apex.
- :class:`Augmented`: a deterministic provider with augmentation (``train.augment`` or
  ``train.augmentations``): displacements computed once at every apex choice; a training batch's
  frames and displacement are augmented alike, then its regions are cut.
- :class:`Live`: a trainable provider: the model runs on the frames (its own loss added in
  training); its self-supervision pairs, if it takes any, are read once.
- :class:`Resampled`: a sequence head (FRL-DGT-S): each clip resampled to T frames; displacements
  per batch.

A path reads the frames it needs (:meth:`InputPath.read`), computes what every model of the run
shares (:meth:`InputPath.compute`: for LOSO, the object an executor ships once to its workers),
and gives each model its forward (:meth:`InputPath.forward`).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor
from tqdm.auto import tqdm

from mezoo import plugins
from mezoo.augment import Augment, Augmentation
from mezoo.data.cache import DiskCache
from mezoo.data.sample import Dataset
from mezoo.errors import ConfigError
from mezoo.data.faces import FaceReader
from mezoo.engine.frames import Frames, Pairs, ShipsAsArrays, read_frames, read_pairs
from mezoo.engine.loop import Forward
from mezoo.engine.precompute import precompute_displacements, provider_id
from mezoo.model import FRLDGT
from mezoo.settings import Settings


def augmentations(settings: Settings) -> tuple[Augment, list[Augmentation]]:
    """The geometric augmentation (``train.augment``) and the registered ones in ``train.augmentations``."""
    geometric = Augment(**dataclasses.asdict(settings.train.augment))
    extra = [plugins.make("augmentation", name, **(settings.augmentation.get(name) or {}))
             for name in settings.train.augmentations]
    return geometric, extra


def choose_input_path(settings: Settings, model: FRLDGT) -> type[InputPath]:
    """The input path of ``model`` trained as ``settings`` say (the module docstring lists them; a
    classical model's, :func:`mezoo.engine.features.features_path`, are not a network's)."""
    if model.fusion.sequence:
        return Resampled
    if model.displacement.trainable:
        return Live
    geometric, extra = augmentations(settings)
    if geometric.active or extra:
        return Augmented
    return Jittered if settings.train.apex_jitter else Precomputed


class InputPath(ShipsAsArrays, ABC):
    """An input path: what every model of a run shares (every fold, for LOSO), and each model's forward."""

    #: the path's name (recorded in a run's ``report.json``)
    name: ClassVar[str]
    #: self-supervision pairs of a trainable provider (the live and sequence paths), else ``None``
    pairs: Pairs | None = None
    #: a classical model's path (:mod:`mezoo.engine.features`): a fold fits a classifier on its features
    classical: ClassVar[bool] = False

    @classmethod
    def read(cls, settings: Settings, dataset: Dataset, samples: list[Any], progress: bool) -> Frames:
        """Read the frames this path needs: each sample's onset and apex (and apex neighbours)."""
        faces = FaceReader.from_settings(settings.face, settings.run.cache_dir)
        return read_frames(samples, dataset.classes, settings.face.size, settings.face.color, progress,
                       settings.train.apex_jitter, faces)

    @classmethod
    @abstractmethod
    def compute(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> InputPath:
        """Compute what every model of the run shares (``model`` is the run's untrained model, moved
        to ``device``)."""

    @abstractmethod
    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        """rows of ``data`` -> (logits, the provider's own loss or ``None``), in training or evaluation as
        ``model`` is; evaluation is unaugmented, at the annotated apex."""


@dataclass
class FusionInputs(ShipsAsArrays):
    """The fusion head's inputs for every sample, computed once for a deterministic provider.

    Stored as float16 on the CPU: ``regions`` ``(N, K, M, R, R)`` (``None`` for heads that take
    no regions) and ``face`` ``(N, M, S, S)``.
    """

    regions: Tensor | None
    face: Tensor

    @classmethod
    def compute(cls, model: FRLDGT, data: Frames, displacements: Tensor, device: torch.device,
                batch_size: int, progress: bool) -> FusionInputs:
        regions, faces = [], []
        rows = torch.arange(len(data.keys), device="cpu")
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

    def rows(self, idx: Tensor, device: torch.device) -> tuple[Tensor | None, Tensor]:
        """Regions and face of the rows ``idx`` as float32 on ``device``."""
        return None if self.regions is None else self.regions[idx].to(device).float(), self.face[idx].to(device).float()

    def forward(self, model: FRLDGT, device: torch.device) -> Forward:
        """rows -> logits of ``model``'s fusion head on the stored inputs."""
        return lambda idx: (model.fusion(*self.rows(idx, device)), None)


def _precompute(settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> list[Tensor]:
    """A deterministic provider's displacements for every sample at each apex choice (disk-cached)."""
    provider, name = model.displacement, settings.displacement.name
    cache = DiskCache(settings.run.cache_dir)
    pid = provider_id(name, settings.displacement.chosen(), provider)
    return [precompute_displacements(provider, pid, data.view(c), settings.face.size, settings.face.color, cache,
                                     device, settings.train.batch_size, progress)
            for c in range(data.apex_choices)]


def _random_choice(data: Frames, idx: Tensor, generator: torch.Generator) -> Tensor | None:
    """An apex choice per row (0 the annotated apex, k its k-th neighbour), or ``None`` without jitter."""
    if data.apex_choices == 1:
        return None
    return torch.randint(data.apex_choices, (len(idx),), generator=generator, device="cpu")


@dataclass
class Precomputed(InputPath):
    """The head's inputs at the annotated apex, computed once; a fold trains the head alone."""

    name: ClassVar[str] = "precomputed"
    inputs: FusionInputs

    @classmethod
    def compute(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> Precomputed:
        model = model.to(device)
        displacements = _precompute(settings, model, data, device, progress)[0]
        return cls(FusionInputs.compute(model, data, displacements, device, settings.train.batch_size, progress))

    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        return self.inputs.forward(model, device)


@dataclass
class Jittered(InputPath):
    """The head's inputs at the apex (``choices[0]``) and at each neighbour, computed once."""

    name: ClassVar[str] = "jittered"
    choices: list[FusionInputs]

    @classmethod
    def compute(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> Jittered:
        model = model.to(device)
        return cls([FusionInputs.compute(model, data.view(c), d, device, settings.train.batch_size, progress)
                    for c, d in enumerate(_precompute(settings, model, data, device, progress))])

    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        evaluate = self.choices[0].forward(model, device)

        def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
            if not model.training:
                return evaluate(idx)
            choice = _random_choice(data, idx, generator)
            picks = list(zip(idx.tolist(), [0] * len(idx) if choice is None else choice.tolist()))
            face = torch.stack([self.choices[c].face[i] for i, c in picks]).to(device).float()
            regions = None
            if self.choices[0].regions is not None:
                stacked = [self.choices[c].regions[i] for i, c in picks]  # type: ignore[index]
                regions = torch.stack(stacked).to(device).float()
            return model.fusion(regions, face), None

        return forward


@dataclass
class AugmentedBatch:
    """A training batch after augmentation: ``onset``, ``apex`` ``(B, C, H, W)``, the ``landmarks``
    ``(B, 68, 2)`` moved with them, the ``displacement`` (``None`` when none was given) and the
    validity ``mask`` ``(B, 1, H, W)`` (``None``: all valid)."""

    onset: Tensor
    apex: Tensor
    landmarks: Tensor
    displacement: Tensor | None
    mask: Tensor | None


class _Augmenting:
    """A training batch's onset, apex (and displacement) augmented alike, landmarks and mask moved with them."""

    def __init__(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                 device: torch.device):
        self.data, self.generator, self.device = data, generator, device
        self.augment, self.extra = augmentations(settings)
        self.channels = data.onset.shape[1]
        self.vector = slice(2 * self.channels, 2 * self.channels + 2) if model.displacement.vector_field else None

    def __call__(self, idx: Tensor, choice: Tensor | None, displacement: Tensor | None) -> AugmentedBatch:
        c = self.channels
        onset, apex, landmarks = self.data.frames(idx, self.device, choice)
        mask = self.data.masks(idx, self.device)
        stack = torch.cat([onset, apex] if displacement is None else [onset, apex, displacement], dim=1)
        if self.augment.active:
            stack, landmarks, mask = augment_with_mask(self.augment, stack, landmarks, mask,
                                                       self.vector if displacement is not None else None,
                                                       self.generator)
        onset, apex = stack[:, :c], stack[:, c:2 * c]
        d = stack[:, 2 * c:] if displacement is not None else None
        for aug in self.extra:
            onset, apex, d, landmarks = aug(onset, apex, d, landmarks, self.vector is not None, self.generator)
        return AugmentedBatch(onset, apex, landmarks, d, mask)


@dataclass
class Augmented(InputPath):
    """Displacements at every apex choice ``(N, V, D, H, W)`` float16, computed once, and the head's
    inputs at the annotated apex for evaluation; training cuts the regions of each augmented batch."""

    name: ClassVar[str] = "augmented"
    evaluation: FusionInputs
    displacements: Tensor

    @classmethod
    def compute(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> Augmented:
        model = model.to(device)
        per_choice = _precompute(settings, model, data, device, progress)
        evaluation = FusionInputs.compute(model, data, per_choice[0], device, settings.train.batch_size, progress)
        return cls(evaluation, torch.stack(per_choice, dim=1).half())

    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        evaluate = self.evaluation.forward(model, device)
        batch = _Augmenting(model, data, settings, generator, device)

        def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
            if not model.training:
                return evaluate(idx)
            choice = _random_choice(data, idx, generator)
            d = self.displacements[idx, choice if choice is not None else 0].to(device).float()
            b = batch(idx, choice, d)
            return model.fusion(*model.regions_and_face(b.onset, b.apex, b.landmarks, b.displacement, b.mask)), None

        return forward


@dataclass
class _OnFrames(InputPath):
    """A path on the frames themselves: what folds share is a trainable provider's self-supervision
    pairs (``pairs_per_clip`` random pairs of frames from each clip), if it takes any."""

    pairs: Pairs | None = None

    @classmethod
    def compute(cls, settings: Settings, model: FRLDGT, data: Frames, device: torch.device,
                progress: bool) -> _OnFrames:
        per_clip = model.displacement.pairs_per_clip
        if not per_clip:
            return cls()
        return cls(read_pairs(data.samples, per_clip, settings.face.size, settings.face.color, settings.seed,
                              progress, data.faces))


@dataclass
class Live(_OnFrames):
    """The whole model on the frames of each batch (a trainable provider learns with the head)."""

    name: ClassVar[str] = "live"

    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        batch = _Augmenting(model, data, settings, generator, device)

        def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
            if not model.training:
                return model(*data.frames(idx, device), mask=data.masks(idx, device)), None
            b = batch(idx, _random_choice(data, idx, generator), None)
            return model.training_step(b.onset, b.apex, b.landmarks, b.mask)

        return forward


@dataclass
class Resampled(_OnFrames):
    """Each clip from onset to offset resampled to ``sequence.length`` frames; the sequence head's
    displacements are computed per batch, after augmentation (so they need no rotating)."""

    name: ClassVar[str] = "sequence"

    @classmethod
    def read(cls, settings: Settings, dataset: Dataset, samples: list[Any], progress: bool) -> Frames:
        """Read each clip resampled by the ``sequence.interpolator`` (no apex jitter: a sequence
        model sees the whole clip, not an apex).

        Raises:
            ConfigError: ``train.augmentations`` are set (they work on onset/apex pairs).
        """
        if settings.train.augmentations:
            raise ConfigError(
                f"train.augmentations ({', '.join(settings.train.augmentations)}) work on onset/apex pairs, "
                f"not on the clips of the sequence head {settings.fusion.name!r}; set train.augmentations: []"
            )
        faces = FaceReader.from_settings(settings.face, settings.run.cache_dir)
        interpolate = plugins.get("interpolator", settings.sequence.interpolator)
        return read_frames(samples, dataset.classes, settings.face.size, settings.face.color, progress, 0, faces,
                           settings.sequence.length, interpolate)

    def forward(self, model: FRLDGT, data: Frames, settings: Settings, generator: torch.Generator,
                device: torch.device) -> Forward:
        """Geometric augmentation moves every frame of a clip alike (time folded into channels)."""
        augment, _ = augmentations(settings)

        def forward(idx: Tensor) -> tuple[Tensor, Tensor | None]:
            frames, landmarks = data.sequence_frames(idx, device)
            mask = data.masks(idx, device)
            if not model.training:
                return model.forward_sequence(frames, landmarks, mask), None
            if augment.active:
                stack, landmarks, mask = augment_with_mask(augment, frames.flatten(1, 2), landmarks, mask, None,
                                                           generator)
                frames = stack.unflatten(1, frames.shape[1:3])
            return model.sequence_training_step(frames, landmarks, mask)

        return forward


def augment_with_mask(augment: Augment, stack: Tensor, landmarks: Tensor, mask: Tensor | None,
                      vector: slice | None, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None]:
    """:class:`Augment` on ``stack`` with the validity mask moved alike (as one more channel); a
    pixel stays valid only where the warped mask is whole, so the border a rotation brings in is
    invalid too."""
    if mask is None:
        return (*augment(stack, landmarks, vector, generator), None)
    moved, landmarks = augment(torch.cat([stack, mask], dim=1), landmarks, vector, generator)
    return moved[:, :-1], landmarks, (moved[:, -1:] > 0.999).to(mask.dtype)
