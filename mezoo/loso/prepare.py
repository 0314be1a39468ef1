"""Samples -> tensors: onset and apex frames, landmarks, labels, groups, all in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from mezoo.data.sample import Sample, class_index
from mezoo.errors import DataError


@dataclass
class Prepared:
    """Everything training needs, one row per sample.

    ``onset`` and ``apex`` are ``(N, C, H, W)`` uint8; ``landmarks`` ``(N, 68, 2)`` float32 pixels of
    the onset frame (regions are cut at the same place in both frames, so motion stays visible).
    """

    keys: list[str]
    groups: np.ndarray
    parts: np.ndarray
    labels: np.ndarray
    onset: Tensor
    apex: Tensor
    landmarks: Tensor

    def frames(self, idx: Tensor, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor]:
        """Onset, apex as floats in [0, 1] and landmarks of the rows ``idx``, on ``device``."""
        onset = self.onset[idx].to(device).float().div_(255)
        apex = self.apex[idx].to(device).float().div_(255)
        return onset, apex, self.landmarks[idx].to(device)


def _to_tensor(frame: np.ndarray, color: bool) -> np.ndarray:
    if not color:
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None]
    return np.ascontiguousarray(frame.transpose(2, 0, 1))


def _face(sample: Sample, index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    frame = sample.read_frame(index)
    landmarks = sample.known_landmarks(index)
    if landmarks is None:
        raise DataError(
            f"sample {sample.key}: frame {index} has no landmarks; this version of mezoo reads "
            f"only datasets that provide them (such as synthetic)"
        )
    h, w = frame.shape[:2]
    if (h, w) != (size, size):
        frame = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
        landmarks = landmarks * [size / w, size / h]
    return frame, landmarks


def prepare(samples: Sequence[Sample], classes: Sequence[str], size: int = 224, color: bool = True,
            progress: bool = True) -> Prepared:
    """Read the onset and apex of every sample at ``size`` x ``size``.

    Raises:
        DataError: a sample whose onset comes after its apex, or whose frames cannot be read.
    """
    onsets, apexes, landmarks = [], [], []
    for s in tqdm(samples, desc="reading frames", unit="sample", disable=not progress, leave=False):
        if s.onset > s.apex:
            raise DataError(
                f"sample {s.key}: onset frame {s.onset} comes after apex frame {s.apex}; "
                f"fix the annotation or exclude the sample"
            )
        onset, lm = _face(s, s.onset, size)
        apex, _ = _face(s, s.apex, size)
        onsets.append(_to_tensor(onset, color))
        apexes.append(_to_tensor(apex, color))
        landmarks.append(lm)
    return Prepared(
        keys=[s.key for s in samples],
        groups=np.array([s.group for s in samples]),
        parts=np.array([s.dataset for s in samples]),
        labels=class_index(classes, samples),
        onset=torch.from_numpy(np.stack(onsets)),
        apex=torch.from_numpy(np.stack(apexes)),
        landmarks=torch.from_numpy(np.stack(landmarks).astype(np.float32)),
    )
