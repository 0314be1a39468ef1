"""The face pipeline: from a sample's frames to calibrated faces and landmarks, cached on disk.

(The geometry is :mod:`mezoo.face.calibration`, the detection :mod:`mezoo.face.landmarks`; this
module applies them to the samples of datasets.)

For a clip of a real dataset, the face is found and its 68 landmarks fitted on the **onset**
frame only; the similarity transform that calibrates them to the canonical template is then
applied to every frame of the clip. Calibrating each frame on its own landmarks would add the
landmark fitter's frame-to-frame jitter (about a pixel) to motion that is itself 1-3 px, so the
displacement between onset and apex would measure the fitter, not the face. The AU regions are
cut at the onset's calibrated landmarks in every frame (as in training).

Samples whose dataset knows its landmarks (``synthetic``) skip dlib: their frames are resized.

The calibrated face fills the canvas from brows to chin (:mod:`mezoo.face.template`). Where the
canvas reaches past the source image (the corners of a tilted tight crop, the forehead above a
crop that starts at the brows), its pixels are 0 and the clip's validity mask
(:attr:`~mezoo.face.calibration.Calibration.mask`) says so: every frame of a clip shares the onset's transform, so one mask
serves the whole clip. Displacement providers compute and normalise over the valid pixels only.

Both steps are cached (:class:`mezoo.data.cache.DiskCache`, namespace ``faces``), keyed by the
frame file's content and the settings, so dlib runs once per clip across all folds and runs:

- per clip: the onset's raw landmarks, the calibration matrix, the calibrated landmarks, the AU
  boxes, how the face was found (:data:`~mezoo.face.calibration.STATUSES`), how many faces the onset held and its size
  (from which the validity mask is recomputed);
- per frame: the calibrated ``size`` x ``size`` RGB face.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from tqdm.auto import tqdm

from mezoo.data.cache import DiskCache, digest
from mezoo.data.sample import Sample, near_apex
from mezoo.errors import DataError
from mezoo.face.calibration import STATUSES, Calibration, calibration
from mezoo.face.landmarks import FaceError, LandmarkDetector
from mezoo.face.template import SPAN

if TYPE_CHECKING:
    from mezoo.settings import FaceSettings

#: Bumped when what the pipeline stores changes, so old cache entries are not reused.
#: 2: template from real faces, brows-to-chin framing, least-squares fit, zero fill and mask.
#: 3: canvas of 0.88 face heights from the brow top (face.span), eye-line rotation, no upright refit,
#:    landmarks outside the image left out.
CACHE_VERSION = "3"

#: A clip whose worst AU box has less than this share on recorded pixels is named by ``mezoo prepare``.
LOW_RECORDED = 0.85


class FaceReader:
    """Calibrated faces of samples' frames (see the module docstring).

    Args:
        size: side of the calibrated face (SPEC: 224).
        span: the canvas side in face heights, its top edge at the brow top
            (:func:`~mezoo.face.template.canonical_landmarks`).
        predictor, upsample, fallback, detect_size: see :class:`mezoo.face.landmarks.LandmarkDetector`.
        cache_dir: the preprocessing cache (default ``$MEZOO_CACHE_DIR`` or ``~/.cache/mezoo``);
        cache: ``False`` computes everything afresh and stores nothing.
        detector: a loaded :class:`~mezoo.face.landmarks.LandmarkDetector` to share (its
            settings then win over ``predictor``, ``upsample``, ``fallback``, ``detect_size``).

    ``counts`` holds, per dataset, how many clips had each status (and ``several_faces``, how many
    onsets held more than one face); ``failures`` the clips with no face, as ``(sample key, frame
    path)``; :meth:`summary` the quality of the calibrations per dataset.
    """

    def __init__(self, size: int = 224, span: float = SPAN, predictor: str | Path | None = None,
                 upsample: int = 1, fallback: bool = True, cache_dir: str | Path | None = None, cache: bool = True,
                 detect_size: int | None = 320, detector: LandmarkDetector | None = None):
        self.size, self.span = int(size), float(span)
        self.predictor, self.upsample, self.fallback = predictor, int(upsample), bool(fallback)
        self.detect_size = int(detect_size) if detect_size else None
        self.cache = DiskCache(cache_dir, namespace="faces") if cache else None
        self.counts: dict[str, Counter[str]] = {}
        self.failures: list[tuple[str, str]] = []
        self._quality: dict[str, list[tuple[float, float, float]]] = {}  # per dataset: eye angle, valid, worst box
        #: clips whose worst AU box is less than :data:`LOW_RECORDED` on recorded pixels: (sample, the box,
        #: its share)
        self.low: list[tuple[Sample, str, float]] = []
        self._detector = detector
        self._clips: dict[tuple, Calibration] = {}  # by sample key, onset frame and onset

    @classmethod
    def from_settings(cls, face: FaceSettings, cache_dir: str | Path | None = None, cache: bool = True) -> FaceReader:
        """A reader with the ``face`` settings (and ``run.cache_dir``) of :class:`~mezoo.settings.Settings`."""
        return cls(size=face.size, span=face.span, predictor=face.predictor, upsample=face.upsample,
                   fallback=face.fallback, cache_dir=cache_dir, cache=cache, detect_size=face.detect_size)

    @property
    def detector(self) -> LandmarkDetector:
        if self._detector is None:
            self._detector = LandmarkDetector(self.predictor, self.upsample, self.fallback, self.detect_size)
        return self._detector

    def _cache_key(self) -> tuple[Any, ...]:
        """What a clip's calibration depends on, besides its onset frame (part of its cache key)."""
        predictor = self.detector.predictor_path
        return (CACHE_VERSION, self.size, self.span, self.upsample, self.fallback, self.detect_size,
                predictor.name, predictor.stat().st_size)

    # -- clips -------------------------------------------------------------------------------

    def clip(self, sample: Sample) -> Calibration:
        """The clip's calibration, found on its onset frame (cached). Never raises for a face
        that is not found: the status says ``failed``; :meth:`read` raises."""
        memo = (sample.key, str(sample.frames[sample.onset]) if sample.frames else id(sample.source), sample.onset)
        if memo in self._clips:
            return self._clips[memo]
        if sample.known_landmarks(sample.onset) is not None:
            face = self._known(sample)
        else:
            face = self._detect(sample)
        self._clips[memo] = face
        counts = self.counts.setdefault(sample.dataset, Counter())
        counts[face.status] += 1
        counts["several_faces"] += face.faces > 1
        if face.failed:
            self.failures.append((sample.key, face.frame))
        else:
            recorded = face.recorded
            worst = int(np.argmin(recorded))
            self._quality.setdefault(sample.dataset, []).append((face.eye_angle, face.valid, float(recorded[worst])))
            if recorded[worst] < LOW_RECORDED:
                from mezoo.face.au_regions import AU_REGION_NAMES

                self.low.append((sample, AU_REGION_NAMES[worst], float(recorded[worst])))
        return face

    def _known(self, sample: Sample) -> Calibration:
        frame = sample.read_frame(sample.onset)
        h, w = frame.shape[:2]
        matrix = np.array([[self.size / w, 0, 0], [0, self.size / h, 0]], dtype=np.float64)
        return calibration(sample.known_landmarks(sample.onset), self.size, self.span, status="known",
                           shape=(h, w), matrix=matrix)

    def _detect(self, sample: Sample) -> Calibration:
        content, path = self._content(sample, sample.onset)
        key = digest("face-clip", *self._cache_key(), content)
        shapes = {"status": (), "matrix": (2, 3), "raw": (68, 2), "faces": (), "shape": (2,)}
        record = self.cache.load_arrays(key, shapes) if self.cache is not None else None
        if record is not None:
            status = STATUSES[int(record["status"])]
            return calibration(record["raw"], self.size, self.span, status=status, frame=path,
                               faces=int(record["faces"]), shape=tuple(record["shape"]), matrix=record["matrix"])
        image = self._decode(sample, sample.onset, content, path)
        face = self.detector.calibrate(image, self.size, self.span, name=path)
        if self.cache is not None:
            self.cache.save_arrays(key, {"status": np.array(STATUSES.index(face.status)), "matrix": face.matrix,
                                         "raw": face.raw, "faces": np.array(face.faces), "shape": np.array(face.shape)})
        return face

    def calibrate(self, image: np.ndarray, name: str = "the image") -> Calibration:
        """A single photo's calibration (no cache); :meth:`~mezoo.face.calibration.Calibration.warp`
        gives the calibrated face.

        Raises:
            FaceError: no face in ``image``.
        """
        face = self.detector.calibrate(image, self.size, self.span, name=name)
        if face.failed:
            raise FaceError(f"no face found in {name}; give a frontal face photo")
        return face

    def mask(self, sample: Sample) -> np.ndarray:
        """The ``(size, size)`` bool validity mask of ``sample``'s calibrated frames (all ``True``
        for datasets that know their landmarks: their frames are only resized)."""
        if sample.known_landmarks(sample.onset) is not None:
            return np.ones((self.size, self.size), dtype=bool)
        return self.clip(sample).mask

    # -- frames ------------------------------------------------------------------------------

    def read(self, sample: Sample, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index`` of ``sample`` as a calibrated ``(size, size, 3)`` uint8 RGB face, and the
        landmarks ``(68, 2)`` to cut its regions at (the frame's own for datasets that know them,
        else the clip's onset landmarks).

        Raises:
            FaceError: no face was found in the clip's onset frame.
            DataError: the frame is missing or unreadable.
        """
        known = sample.known_landmarks(index)
        if known is not None:
            frame = sample.read_frame(index)
            h, w = frame.shape[:2]
            if (h, w) != (self.size, self.size):
                frame = cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_AREA)
                known = known * [self.size / w, self.size / h]
            return frame, known
        face = self.clip(sample)
        if face.failed:
            raise FaceError(
                f"sample {sample.key}: no face found in its onset frame {face.frame} (dataset {sample.dataset}, "
                f"subject {sample.subject}, episode {sample.episode}); check the frame, or leave the sample out "
                f"with {sample.exclude_hint} "
                f"(`mezoo prepare` lists every such clip)"
            )
        content, path = self._content(sample, index)
        if self.cache is None:
            return self._warp(sample, face, index, content, path), face.landmarks
        key = digest("face-frame", CACHE_VERSION, self.size, face.matrix, content)
        frame = self.cache.load(key)
        if frame is None or frame.shape != (self.size, self.size, 3) or frame.dtype != np.uint8:
            frame = self._warp(sample, face, index, content, path)
            self.cache.save(key, frame)
        return frame, face.landmarks

    def _warp(self, sample: Sample, face: Calibration, index: int, content: bytes | np.ndarray, path: str) -> np.ndarray:
        image = self._decode(sample, index, content, path)
        if image.shape[:2] != face.shape:
            raise DataError(
                f"sample {sample.key}: frame {path} is {image.shape[1]} x {image.shape[0]} px but the clip's onset "
                f"{face.frame} is {face.shape[1]} x {face.shape[0]}; every frame of a clip is calibrated with the "
                f"onset's transform, so they must share one size: restore the frame or exclude the sample with "
                f"{sample.exclude_hint}"
            )
        return face.warp(image)

    def _content(self, sample: Sample, index: int) -> tuple[bytes | np.ndarray, str]:
        """What identifies frame ``index``: its file's bytes (or, in memory, its pixels) and path."""
        if sample.source is not None or not sample.frames:
            return sample.read_frame(index), f"{sample.key} frame {index}"
        if not 0 <= index < len(sample.frames):
            raise DataError(f"sample {sample.key}: frame index {index} is outside its {len(sample)} frames")
        path = sample.frames[index]
        try:
            return Path(path).read_bytes(), str(path)
        except OSError as e:
            raise DataError(f"sample {sample.key}: frame {path} cannot be read ({e.strerror}); restore the file "
                            f"or exclude the sample with {sample.exclude_hint}") from e

    @staticmethod
    def _decode(sample: Sample, index: int, content: bytes | np.ndarray, path: str) -> np.ndarray:
        if isinstance(content, np.ndarray):
            return content
        # OpenCV asserts (a C++ exception) on an empty buffer rather than returning None
        image = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR) if content else None
        if image is None:
            what = "is empty (0 bytes)" if not content else "cannot be decoded as an image"
            raise DataError(f"sample {sample.key}: frame {path} {what}; restore the file "
                            f"or exclude the sample with {sample.exclude_hint}")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def summary(self) -> list[dict[str, Any]]:
        """Per dataset: clips, how many had each status (detected, a fallback, failed, ...), how
        many onsets held several faces, and over the calibrated clips the median absolute eye-line
        angle (degrees), the median fraction of the canvas that comes from the source image, and
        the median and lowest share of recorded pixels in each clip's worst AU box (``worst_box``,
        ``lowest_box``; NaN when none was calibrated)."""
        rows = []
        for name, c in sorted(self.counts.items()):
            angles, valid, worst = np.array(self._quality.get(name, []), dtype=np.float64).reshape(-1, 3).T

            def stat(values: np.ndarray, how: Any = np.median) -> float:
                return round(float(how(values)), 3) if len(values) else float("nan")

            rows.append({"dataset": name, "clips": sum(c[s] for s in STATUSES), **{s: c.get(s, 0) for s in STATUSES},
                         "several_faces": c.get("several_faces", 0),
                         "eye_angle": round(float(np.median(np.abs(angles))), 2) if len(angles) else float("nan"),
                         "valid": stat(valid), "worst_box": stat(worst), "lowest_box": stat(worst, np.min)})
        return rows


def prepare_faces(samples: list[Sample], reader: FaceReader, apex_jitter: int = 0, all_frames: bool = False,
                  progress: bool = True) -> int:
    """Fill ``reader``'s cache for ``samples`` (what ``mezoo prepare`` does): each clip's face found
    and calibrated, then its onset, apex and apex-jitter neighbours (``all_frames``: every frame from
    onset to offset) warped. Clips with no face are skipped (``reader.failures`` lists them,
    ``reader.summary()`` counts them). Interrupt it at any time: what is cached stays cached.

    Returns:
        How many frames were calibrated.
    """
    frames = 0
    for s in tqdm(samples, desc="preparing faces", unit="clip", disable=not progress):
        if reader.clip(s).failed:
            continue
        wanted = range(s.onset, s.offset + 1) if all_frames else [s.onset, s.apex, *near_apex(s, apex_jitter)]
        for i in dict.fromkeys(wanted):
            reader.read(s, i)
            frames += 1
    return frames
