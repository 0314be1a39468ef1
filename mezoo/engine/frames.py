"""Samples -> tensors: onset and apex frames, landmarks, labels, groups, all in memory.

:func:`read_frames` reads them once per run (through the face pipeline,
:class:`~mezoo.data.faces.FaceReader`); training, LOSO and ``mezoo train`` take the
:class:`Frames` it returns.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from mezoo.data.sample import Sample, class_index, near_apex
from mezoo.errors import DataError
from mezoo.data.faces import FaceReader


class ShipsAsArrays:
    """Pickled with its tensors as NumPy arrays, so that pickle protocol 5 (Ray's object store)
    ships them as raw buffers, which a worker on the same machine maps without a copy (400 MB: 5 ms,
    against 0.5 s for a torch tensor). Workers share that memory: the training code never writes
    these tensors (every batch it takes is a copy)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        tensors = [k for k, v in state.items() if isinstance(v, Tensor)]
        return {**state, **{k: state[k].numpy() for k in tensors}, "_tensors": tensors}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        with warnings.catch_warnings():  # "the given NumPy array is not writable": it is never written
            warnings.simplefilter("ignore", UserWarning)
            state.update({k: torch.from_numpy(state[k]) for k in state.pop("_tensors")})
        vars(self).update(state)


@dataclass
class Frames(ShipsAsArrays):
    """Everything training needs, one row per sample.

    ``onset`` and ``apex`` are ``(N, C, H, W)`` uint8; ``landmarks`` ``(N, 68, 2)`` float32 pixels of
    the onset frame (regions are cut at the same place in both frames, so motion stays visible).
    For apex jitter, ``near`` ``(N, 2j, C, H, W)`` holds the j frames before and after each apex
    (clamped inside the clip) and ``near_index`` ``(N, 2j)`` their frame indices. ``faces`` is the
    face pipeline that read them, for whoever reads more frames of the same samples. For sequence
    models, ``sequence`` ``(N, T, C, H, W)`` uint8 holds each clip from its onset to its offset
    resampled to T frames (see :func:`read_sequence`). ``mask`` ``(N, 1, H, W)`` bool says which
    pixels of each sample's frames come from the source image (one mask a clip: its frames share
    the onset's calibration); ``None``: all.
    """

    samples: list[Sample]
    keys: list[str]
    groups: np.ndarray
    parts: np.ndarray
    labels: np.ndarray
    onset: Tensor
    apex: Tensor
    landmarks: Tensor
    near: Tensor | None = None
    near_index: np.ndarray | None = None
    faces: FaceReader | None = None
    sequence: Tensor | None = None
    mask: Tensor | None = None

    @property
    def apex_choices(self) -> int:
        """How many frames apex jitter picks from: the apex and its neighbours."""
        return 1 + (0 if self.near is None else self.near.shape[1])

    def frames(self, idx: Tensor, device: torch.device | str,
               choice: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Onset, apex as floats in [0, 1] and landmarks of the rows ``idx``, on ``device``.

        ``choice`` (one per row): 0 the annotated apex, k > 0 its (k-1)-th neighbour in ``near``.
        """
        onset = self.onset[idx].to(device).float().div_(255)
        apex = self.apex[idx]
        if choice is not None and self.near is not None:
            picked = self.near[idx, (choice - 1).clamp_min(0)]
            apex = torch.where((choice > 0)[:, None, None, None], picked, apex)
        return onset, apex.to(device).float().div_(255), self.landmarks[idx].to(device)

    def masks(self, idx: Tensor, device: torch.device | str) -> Tensor | None:
        """The validity masks ``(B, 1, H, W)`` float (1 = valid) of the rows ``idx``, or ``None``."""
        return None if self.mask is None else self.mask[idx].to(device).float()

    def sequence_frames(self, idx: Tensor, device: torch.device | str) -> tuple[Tensor, Tensor]:
        """The resampled clips ``(B, T, C, H, W)`` as floats in [0, 1] and the onset landmarks of rows ``idx``."""
        if self.sequence is None:
            raise ValueError("these samples were read without sequences; pass sequence_length to read_frames()")
        return self.sequence[idx].to(device).float().div_(255), self.landmarks[idx].to(device)

    def shipped(self) -> Frames:
        """What a fold's job needs, to send to workers: everything but the samples and the face pipeline."""
        return replace(self, samples=[], faces=None)

    def view(self, choice: int) -> Frames:
        """The same samples with apex choice ``choice`` (see :meth:`frames`) as their apex."""
        if choice == 0 or self.near is None or self.near_index is None:
            return self
        index = self.near_index[:, choice - 1]
        return replace(self, samples=[replace(s, apex=int(i)) for s, i in zip(self.samples, index)],
                       apex=self.near[:, choice - 1], near=None, near_index=None)


def to_chw(frame: np.ndarray, color: bool) -> np.ndarray:
    """``(H, W, 3)`` RGB uint8 -> ``(C, H, W)`` uint8, grey (C = 1) unless ``color``."""
    if not color:
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None]
    return np.ascontiguousarray(frame.transpose(2, 0, 1))


def read_face(sample: Sample, index: int, size: int, faces: FaceReader | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` of ``sample`` as a calibrated ``size`` x ``size`` face and its 68 landmarks.

    ``faces`` is the face pipeline to use (its ``size`` wins); by default one with the default
    settings and cache. See :class:`mezoo.data.faces.FaceReader`.
    """
    return (faces or _default_reader(size)).read(sample, index)


@lru_cache(maxsize=4)
def _default_reader(size: int) -> FaceReader:
    return FaceReader(size=size)


#: ``fn(frames, length)``: ``(n, H, W, C)`` -> ``(length, H, W, C)`` floats (see mezoo.data.interpolate)
Interpolator = Callable[[np.ndarray, int], np.ndarray]


def read_sequence(sample: Sample, length: int, interpolate: Interpolator, size: int = 224, color: bool = True,
                  faces: FaceReader | None = None) -> np.ndarray:
    """The clip from its onset to its offset (or apex, if later), calibrated, resampled to ``length`` frames.

    Every frame is calibrated with the clip's onset transform (the face pipeline's rule), then
    ``interpolate`` resamples the aligned faces in time; the result is rounded back to uint8.

    Returns:
        ``(length, C, H, W)`` uint8; the first frame is the onset.

    Raises:
        DataError: the clip has fewer than two frames from its onset on.
    """
    if sample.end <= sample.onset:
        raise DataError(
            f"sample {sample.key}: no frames after the onset ({sample.onset}) to make a sequence of; "
            f"fix its offset or exclude the sample"
        )
    frames = np.stack([read_face(sample, i, size, faces)[0] for i in range(sample.onset, sample.end + 1)])
    return resample(frames, length, interpolate, color, f"sample {sample.key}")


def resample(frames: np.ndarray, length: int, interpolate: Interpolator, color: bool, what: str) -> np.ndarray:
    """Calibrated faces ``(n, H, W, 3)`` uint8 resampled in time to ``(length, C, H, W)`` uint8.

    Raises:
        DataError: the interpolator returned another shape (naming ``what``).
    """
    resampled = np.clip(np.rint(interpolate(frames, length)), 0, 255).astype(np.uint8)
    if resampled.shape != (length, *frames.shape[1:]):
        raise DataError(f"{what}: the interpolator returned frames of shape {resampled.shape}, "
                        f"expected {(length, *frames.shape[1:])}")
    return np.stack([to_chw(f, color) for f in resampled])


def read_frames(samples: Sequence[Sample], classes: Sequence[str], size: int = 224, color: bool = True,
            progress: bool = True, apex_jitter: int = 0, faces: FaceReader | None = None,
            sequence_length: int = 0, interpolate: Interpolator | None = None) -> Frames:
    """Read the onset and apex of every sample at ``size`` x ``size`` (and, with ``apex_jitter``
    = j, the j frames on each side of the apex), calibrated by the face pipeline ``faces``.

    With ``sequence_length`` = T (and an ``interpolate`` function), also every clip resampled to T
    frames (:func:`read_sequence`), for sequence models.

    Raises:
        DataError: a sample whose onset comes after its apex, or whose frames cannot be read.
    """
    if sequence_length and interpolate is None:
        raise ValueError("sequence_length needs an interpolate function")
    onsets, apexes, landmarks, masks, near, near_index, sequences = [], [], [], [], [], [], []
    faces = faces or _default_reader(size)
    for s in tqdm(samples, desc="reading frames", unit="sample", disable=not progress, leave=False):
        if s.onset > s.apex:
            raise DataError(
                f"sample {s.key}: onset frame {s.onset} comes after apex frame {s.apex}; "
                f"fix the annotation or exclude the sample"
            )
        onset, lm = read_face(s, s.onset, size, faces)
        apex, _ = read_face(s, s.apex, size, faces)
        onsets.append(to_chw(onset, color))
        apexes.append(to_chw(apex, color))
        landmarks.append(lm)
        masks.append(faces.mask(s)[None])
        if apex_jitter:
            index = near_apex(s, apex_jitter)
            near_index.append(index)
            near.append(np.stack([to_chw(read_face(s, i, size, faces)[0], color) for i in index]))
        if sequence_length:
            sequences.append(read_sequence(s, sequence_length, interpolate, size, color, faces))  # type: ignore[arg-type]
    return Frames(
        samples=list(samples),
        keys=[s.key for s in samples],
        groups=np.array([s.group for s in samples]),
        parts=np.array([s.dataset for s in samples]),
        labels=class_index(classes, samples),
        onset=torch.from_numpy(np.stack(onsets)),
        apex=torch.from_numpy(np.stack(apexes)),
        landmarks=torch.from_numpy(np.stack(landmarks).astype(np.float32)),
        near=torch.from_numpy(np.stack(near)) if apex_jitter else None,
        near_index=np.array(near_index) if apex_jitter else None,
        faces=faces,
        sequence=torch.from_numpy(np.stack(sequences)) if sequence_length else None,
        mask=torch.from_numpy(np.stack(masks)),
    )


@dataclass
class Pairs(ShipsAsArrays):
    """Random frame pairs for self-supervision: ``first``, ``second`` ``(P, C, H, W)`` uint8, the
    LOSO group of each pair's clip, so a fold uses only its training subjects' pairs, and the
    clip's validity mask ``(P, 1, H, W)`` bool."""

    first: Tensor
    second: Tensor
    groups: np.ndarray
    mask: Tensor | None = None


def read_pairs(samples: Sequence[Sample], per_clip: int, size: int = 224, color: bool = True, seed: int = 0,
               progress: bool = True, faces: FaceReader | None = None) -> Pairs:
    """``per_clip`` random pairs of distinct frames from each clip, between its onset and offset."""
    rng = np.random.default_rng(seed)
    faces = faces or _default_reader(size)
    first, second, groups, masks = [], [], [], []
    for s in tqdm(samples, desc="reading frame pairs", unit="sample", disable=not progress, leave=False):
        lo, hi = min(s.onset, s.offset), min(max(s.onset, s.offset), len(s) - 1)
        if hi <= lo:
            continue
        for _ in range(per_clip):
            i, j = rng.choice(np.arange(lo, hi + 1), size=2, replace=False)
            first.append(to_chw(read_face(s, int(i), size, faces)[0], color))
            second.append(to_chw(read_face(s, int(j), size, faces)[0], color))
            groups.append(s.group)
            masks.append(faces.mask(s)[None])
    if not first:
        raise DataError("no clip has two frames to pair for self-supervision; set pairs_per_clip: 0")
    return Pairs(torch.from_numpy(np.stack(first)), torch.from_numpy(np.stack(second)), np.array(groups),
                 torch.from_numpy(np.stack(masks)))
