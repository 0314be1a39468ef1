"""The sample type every dataset yields, and the dataset base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from mezoo.errors import DataError


class FrameSource(Protocol):
    """Frames that are not files on disk (the synthetic dataset, a video in memory)."""

    def __len__(self) -> int: ...

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H, W, 3)`` uint8 RGB."""

    def landmarks(self, index: int) -> np.ndarray | None:
        """The 68 landmarks of frame ``index`` as ``(68, 2)`` pixels, or ``None`` if unknown."""


def exclude_hint(settings: str, subject: str, episode: str) -> str:
    """The ``--set`` that leaves ``subject/episode`` out of the dataset whose options live under
    ``settings`` (``dataset.casme2``, ``dataset.megc2019.casme2``, ...)."""
    return f"--set {settings}.exclude=[{subject}/{episode}]"


@dataclass(frozen=True)
class Sample:
    """One micro-expression clip: where its frames are, its key frames and its label.

    ``dataset`` is the part a sample comes from (``casme2``, ``samm``, ``smic``, ``synthetic``);
    the composite keeps each sample's own part so results can be reported per part.
    ``emotion`` is the dataset's raw label, ``label`` the mapped class name.
    """

    dataset: str
    subject: str
    episode: str
    onset: int
    apex: int
    offset: int
    emotion: str
    label: str
    frames: tuple[Path, ...] = ()
    source: FrameSource | None = field(default=None, compare=False, repr=False)
    #: where its dataset's options live in the settings (``dataset.casme2``; inside the megc2019
    #: composite ``dataset.megc2019.casme2``), so advice names a key that works in the run at hand
    settings: str = field(default="", compare=False, repr=False)

    @property
    def exclude_hint(self) -> str:
        """How to leave this sample out, as a ``--set`` that works in the run at hand."""
        return exclude_hint(self.settings or f"dataset.{self.dataset}", self.subject, self.episode)

    @property
    def key(self) -> str:
        """A unique id: ``dataset/subject/episode``."""
        return f"{self.dataset}/{self.subject}/{self.episode}"

    @property
    def group(self) -> str:
        """The LOSO group: subjects of different datasets are different people."""
        return f"{self.dataset}/{self.subject}"

    def __len__(self) -> int:
        return len(self.source) if self.source is not None else len(self.frames)

    @property
    def end(self) -> int:
        """The last frame of the expression: the offset (or the apex, if annotated later), inside the clip."""
        return min(max(self.offset, self.apex), len(self) - 1)

    def read_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based within the clip) as ``(H, W, 3)`` uint8 RGB."""
        if not 0 <= index < len(self):
            raise DataError(f"sample {self.key}: frame index {index} is outside its {len(self)} frames")
        if self.source is not None:
            return self.source.frame(index)
        import cv2

        path = self.frames[index]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            reason = "is missing" if not Path(path).exists() else "cannot be decoded as an image"
            raise DataError(
                f"sample {self.key}: frame {path} {reason}; restore the file or exclude the sample with "
                f"{self.exclude_hint}"
            )
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def known_landmarks(self, index: int) -> np.ndarray | None:
        """Landmarks the dataset already knows (synthetic faces), else ``None``."""
        return None if self.source is None else self.source.landmarks(index)


class Dataset(ABC):
    """Base class of dataset plugins.

    Subclasses set ``classes`` (mapped class names; a sample's class index is its position) and
    implement :meth:`samples`. ``config_defaults`` holds settings this dataset needs changed from
    the packaged defaults (applied below the user's config file and ``--set``).
    """

    classes: ClassVar[tuple[str, ...]] = ()
    config_defaults: ClassVar[dict[str, Any]] = {}
    #: its samples know their true motion (a :class:`~mezoo.data.synthetic.SyntheticClip` source),
    #: so ``mezoo motion-accuracy`` can measure on it
    knows_motion: ClassVar[bool] = False

    def __init__(self, root: str | Path | None = None):
        self.root = None if root is None else Path(root)

    @abstractmethod
    def samples(self) -> list[Sample]:
        """Every usable sample of the dataset, in a stable order."""


def class_index(classes: Sequence[str], samples: Sequence[Sample]) -> np.ndarray:
    """Class indices of ``samples`` in ``classes``; an unmapped label is an error naming the sample."""
    lookup = {c: i for i, c in enumerate(classes)}
    out = np.empty(len(samples), dtype=np.int64)
    for i, s in enumerate(samples):
        if s.label not in lookup:
            raise DataError(f"sample {s.key}: label {s.label!r} is not one of {list(classes)}")
        out[i] = lookup[s.label]
    return out


def near_apex(sample: Sample, jitter: int) -> list[int]:
    """The ``jitter`` frames before and after the apex, kept after the onset and inside the clip."""
    picks = [sample.apex + d for d in range(-jitter, jitter + 1) if d]
    return [min(max(i, sample.onset + 1, 0), sample.end) for i in picks]
