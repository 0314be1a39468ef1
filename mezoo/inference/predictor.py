"""A trained model on new faces: an onset/apex pair, a clip, or a whole video.

Every form goes through the face pipeline the model was trained with (its ``face`` settings):
the face is found on the onset frame (the largest face; in a video, the tracked one), calibrated
to the brows-to-chin template, and every other frame is warped with the onset's transform, so
the motion between them is the face's, not the landmark fitter's. The cache is not used: new
frames are seen once.

A model trained on ``synthetic`` was trained on frames whose landmarks were known; on new frames
its faces are found by dlib like any others (dlib finds the synthetic faces; the calibrated face
then differs from the training framing by the fitter's error, a few pixels).
"""

from __future__ import annotations

import csv
import io
import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch

from mezoo import plugins
from mezoo.data.sample import Sample
from mezoo.errors import DataError, MezooWarning
from mezoo.face.landmarks import FaceError, calibration_matrix, warp_face
from mezoo.face.pipeline import ClipFace, FaceReader
from mezoo.inference import spotting
from mezoo.inference.modeldir import ModelFiles, check_versions, load_state, read_model_dir
from mezoo.inference.video import MIN_SIDE, VideoInfo, open_video, pick_box, read_frames, scan
from mezoo.data.native import IMAGE_SUFFIXES, frame_number
from mezoo.loso.prepare import resample, to_chw
from mezoo.model import FRLDGT, build_model, is_sequence_model


@dataclass
class Prediction:
    """The class of one micro-expression: ``label``, the probability of each class, the frames used
    (``onset``, ``apex``, ``offset``, indices into the clip: 0 and 1 for a pair), and how its face was
    found (``face``: ``detected``, ``padded``, ``whole_image``; ``faces``: how many were in view)."""

    label: str
    probs: dict[str, float]
    onset: int = 0
    apex: int = 1
    offset: int = 1
    face: str = "detected"
    faces: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Interval:
    """A micro-expression spotted in a video: onset, apex and offset as frame numbers of the video
    and in seconds, the motion score of its apex, and its class (``label`` ``None`` with ``note``
    when its face could not be calibrated)."""

    onset: int
    apex: int
    offset: int
    onset_s: float
    apex_s: float
    offset_s: float
    score: float
    label: str | None
    probs: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VideoPrediction:
    """What :meth:`Predictor.predict_video` found in a video.

    ``intervals``: the spotted micro-expressions in time order; ``signal``: the motion score of every
    frame from ``first`` to ``last`` (NaN where there was no face), ``level`` the threshold it was
    spotted at; ``no_face``: the stretches ``(first frame, last frame)`` with no face (reported,
    not spotted in); ``lag`` and ``every``: the spotting window and the detection interval in
    frames; ``seconds``: how long it took.
    """

    path: str
    fps: float
    first: int
    last: int
    lag: int
    every: int
    level: float
    intervals: list[Interval]
    signal: np.ndarray
    no_face: list[tuple[int, int]]
    classes: tuple[str, ...]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        """Video frames processed per second of work."""
        return (self.last - self.first + 1) / self.seconds if self.seconds else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): everything but the per-frame signal."""
        return {
            "video": self.path, "fps": self.fps, "first_frame": self.first, "last_frame": self.last,
            "lag_frames": self.lag, "detect_every": self.every, "threshold": round(self.level, 4),
            "classes": list(self.classes), "intervals": [i.as_dict() for i in self.intervals],
            "no_face": [{"first": a, "last": b, "first_s": round(a / self.fps, 3), "last_s": round(b / self.fps, 3)}
                        for a, b in self.no_face],
            "seconds": round(self.seconds, 2), "notes": self.notes,
        }

    def timeline_csv(self) -> str:
        """One row per interval: frames, seconds, score, class and probabilities."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["onset", "apex", "offset", "onset_s", "apex_s", "offset_s", "score", "label"]
                        + [f"p_{c}" for c in self.classes] + ["note"])
        for i in self.intervals:
            writer.writerow([i.onset, i.apex, i.offset, f"{i.onset_s:.3f}", f"{i.apex_s:.3f}", f"{i.offset_s:.3f}",
                             f"{i.score:.3f}", i.label or ""] + [f"{i.probs.get(c, float('nan')):.4f}" for c in self.classes]
                            + [i.note])
        return out.getvalue()

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``timeline.csv``, ``timeline.json`` and ``motion.png`` (the signal with the intervals) in ``folder``."""
        from mezoo.figures import motion_timeline_figure
        from mezoo.files import write_atomic

        folder = Path(folder)
        paths = {"csv": folder / "timeline.csv", "json": folder / "timeline.json", "plot": folder / "motion.png"}
        write_atomic(paths["csv"], self.timeline_csv(), "choose a writable --out")
        write_atomic(paths["json"], json.dumps(self.as_dict(), indent=2), "choose a writable --out")
        motion_timeline_figure(self, paths["plot"])
        return paths


class _Frames:
    """Frames in memory, as a :class:`~mezoo.data.sample.FrameSource` for apex spotters; the onset's
    landmarks (found by the predictor) are its known landmarks, so a spotter need not find them again."""

    def __init__(self, frames: Sequence[np.ndarray], onset_landmarks: np.ndarray):
        self.frames = frames
        self.onset_landmarks = onset_landmarks

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, index: int) -> np.ndarray:
        return self.frames[index]

    def landmarks(self, index: int) -> np.ndarray | None:
        return self.onset_landmarks if index == 0 else None


class Predictor:
    """A loaded model (or a LOSO run's fold ensemble) that classifies micro-expressions on new frames.

    Make one with :func:`load_model`. Images are file paths or arrays (``(H, W, 3)`` RGB uint8, or
    ``(H, W)`` grey; floats in [0, 1] are scaled).
    """

    def __init__(self, files: ModelFiles, device: str | torch.device = "cpu"):
        self.files = files
        self.path = files.path
        self.settings = files.settings
        self.classes = files.classes
        self.device = torch.device(device)
        self.sequence = is_sequence_model(self.settings)
        self.models: list[FRLDGT] = []
        for member, state in zip(files.members, files.states):
            model = build_model(self.settings, len(self.classes))
            load_state(model, state, f"{files.path} ({member})")
            self.models.append(model.to(self.device).eval())
        self.faces = FaceReader.from_settings(self.settings.face, cache=False)
        for note in check_versions(files):
            warnings.warn(f"model {files.path}: {note}; its predictions may differ from when it was made",
                          MezooWarning, stacklevel=2)

    @classmethod
    def from_model(cls, model: FRLDGT, settings: Any, classes: Sequence[str], device: str | torch.device = "cpu") -> Predictor:
        """A predictor around a model in memory (as :func:`~mezoo.inference.train.train_model` trained it)."""
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return cls(ModelFiles(Path("<memory>"), settings, tuple(classes), [state], {}, ["model"]), device)

    def __repr__(self) -> str:
        members = f", ensemble of {len(self.models)} folds" if len(self.models) > 1 else ""
        return (f"Predictor({self.path}: {self.settings.displacement.name} + {self.settings.fusion.name}, classes "
                f"{list(self.classes)}{members})")

    # -- the three forms ---------------------------------------------------------------------

    def predict_pair(self, onset: Any, apex: Any) -> Prediction:
        """The class of the micro-expression from ``onset`` to ``apex`` (two frames of one clip).

        A sequence model (FRL-DGT-S) gets the clip resampled from the two frames.

        Raises:
            DataError: an image that cannot be read or used; FaceError: no face on the onset.
        """
        first, second = self._image(onset, "onset"), self._image(apex, "apex")
        _same_size([first, second], [_name(onset, "onset"), _name(apex, "apex")])
        clip = self._calibrate(first, _name(onset, "onset"))
        probs = self._classify([first, second], 1, clip)
        return self._prediction(probs, 0, 1, 1, clip)

    def predict_clip(self, frames: Any, apex: int | None = None, spotter: str = "motion_energy") -> Prediction:
        """The class of a clip from its onset (first frame) to its offset (last).

        ``frames``: a folder of frame images (in frame-number order, as datasets number them), or a
        sequence of images. ``apex``: its index, if known; else the registered apex spotter
        ``spotter`` picks it (``motion_energy``: the frame whose face moved most from the onset's).

        Raises:
            DataError: fewer than two frames, frames of different sizes, an unreadable frame,
            an apex outside the clip; FaceError: no face on the onset.
        """
        names, images = self._clip_images(frames)
        _same_size(images, names)
        clip = self._calibrate(images[0], names[0])
        n = len(images)
        if apex is None:
            sample = Sample("clip", "input", Path(names[0]).parent.name or "clip", 0, 0, n - 1, "", "",
                            source=_Frames(images, clip.raw))
            apex = int(plugins.get("apex_spotter", spotter)(sample))
        if not 0 < apex < n:
            raise DataError(f"apex {apex} is outside the clip's frames 1..{n - 1} (frame 0 is the onset)")
        return self._prediction(self._classify(images, apex, clip), 0, apex, n - 1, clip)

    def predict_video(self, path: str | Path, start: float | None = None, end: float | None = None,
                      every: int | None = None, lag: float = 0.2, z: float = 6.0, floor: float = 0.1,
                      progress: bool = False) -> VideoPrediction:
        """Spot and classify the micro-expressions of a video (any file OpenCV reads).

        The face is detected every ``every`` frames (default: five times a second) and followed
        between; each frame's motion is scored against the frames ``lag`` seconds before and after
        it (:mod:`mezoo.inference.spotting`); frames scoring above ``median + z * robust spread``
        (and at least ``floor`` px of a 224 px face) that are the highest within ``2 * lag`` are
        apexes, with the onset ``lag`` before and the offset ``lag`` after; each is classified from
        its onset and apex (a sequence model: from onset to offset). ``start`` and ``end`` (seconds)
        cut a long video. Stretches with no face are reported (``no_face``), not spotted in.

        Raises:
            DataError: the video cannot be read, is empty, or ``start`` is past its end;
            FaceError: no face anywhere from ``start`` to ``end``.
        """
        began = time.perf_counter()
        info = open_video(path)
        first = max(int(round((start or 0.0) * info.fps)), 0)
        last = int(round(end * info.fps)) - 1 if end is not None else (info.frames - 1 if info.frames else 10**12)
        if info.frames:
            if first >= info.frames:
                raise DataError(f"--start {start} s is past the end of {info.path} ({info.duration:.2f} s)")
            last = min(last, info.frames - 1)
        if last < first:
            raise DataError(f"--end {end} s comes before --start {start or 0} s")
        every = int(every) if every else max(1, int(round(info.fps / 5)))
        lag_frames = max(1, int(round(lag * info.fps)))
        detector = self.faces.detector
        result = scan(info, detector, first, last, every, lag_frames, self.settings.face.margin, progress)
        no_face = [(result.first + a, result.first + b) for a, b in spotting.stretches(~result.found)]
        if not result.found.any():
            raise FaceError(f"no face found in {info.path} from {first / info.fps:.2f} s to {result.last / info.fps:.2f} s "
                            f"(looked every {every} frames); give a video with a visible, roughly frontal face")
        level = spotting.threshold(result.signal, z, floor)
        intervals = []
        for peak in spotting.peaks(result.signal, lag_frames, level):
            onset, apex, offset = (result.first + v for v in (peak.onset, peak.apex, peak.offset))
            label, probs, note = self._classify_interval(info, result, onset, apex, offset)
            intervals.append(Interval(onset, apex, offset, round(onset / info.fps, 3), round(apex / info.fps, 3),
                                      round(offset / info.fps, 3), round(peak.score, 4), label, probs, note))
        notes = [] if info.fps_known else [f"the video gives no frame rate; {info.fps:g} fps assumed"]
        return VideoPrediction(str(info.path), info.fps, result.first, result.last, lag_frames, every, level,
                               intervals, result.signal, no_face, self.classes, time.perf_counter() - began, notes)

    # -- internals ---------------------------------------------------------------------------

    def _classify_interval(self, info: VideoInfo, result: Any, onset: int, apex: int,
                           offset: int) -> tuple[str | None, dict[str, float], str]:
        frames = [f for _, f in read_frames(info.path, onset, offset)]
        if len(frames) < apex - onset + 1:
            return None, {}, "frames could not be read again"
        box = result.boxes[onset - result.first]
        try:
            clip = self._calibrate(frames[0], f"{info.path} frame {onset}", box)
        except FaceError:
            return None, {}, "no face could be calibrated at the onset"
        probs = self._classify(frames, apex - onset, clip)
        return max(probs, key=probs.get), probs, ""

    def _image(self, image: Any, what: str) -> np.ndarray:
        """An image argument as ``(H, W, 3)`` RGB uint8, checked."""
        if isinstance(image, (str, Path)):
            path = Path(image)
            if not path.is_file():
                raise DataError(f"{what} image {path} does not exist" if not path.exists()
                                else f"{what} image {path} is not a file")
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise DataError(f"{what} image {path} cannot be decoded as an image (empty, damaged, or not a picture: "
                                f"give a .jpg, .png, .bmp or .tif)")
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        elif isinstance(image, np.ndarray):
            rgb = _as_rgb(image, what)
        else:
            raise DataError(f"{what} must be an image file path or a numpy array, not {type(image).__name__}")
        if min(rgb.shape[:2]) < MIN_SIDE:
            raise DataError(f"{_name(image, what)} is {rgb.shape[1]} x {rgb.shape[0]} px; the face pipeline needs at "
                            f"least {MIN_SIDE} px on each side (a face of 40 px or more)")
        return rgb

    def _clip_images(self, frames: Any) -> tuple[list[str], list[np.ndarray]]:
        if isinstance(frames, (str, Path)):
            folder = Path(frames)
            if not folder.is_dir():
                raise DataError(f"clip {folder} is not a folder of frames" + (" (for a video file, use predict_video / "
                                "`mezoo predict VIDEO`)" if folder.is_file() else " (it does not exist)"))
            paths = _frame_files(folder)
            if len(paths) < 2:
                raise DataError(f"clip folder {folder} holds {len(paths)} image file(s); a clip needs at least two "
                                f"frames ({', '.join(IMAGE_SUFFIXES)}), onset first")
            return [str(p) for p in paths], [self._image(p, "frame") for p in paths]
        frames = list(frames)
        if len(frames) < 2:
            raise DataError(f"a clip needs at least two frames (onset first, offset last); got {len(frames)}")
        names = [_name(f, f"frame {i}") for i, f in enumerate(frames)]
        return names, [self._image(f, n) for f, n in zip(frames, names)]

    def _calibrate(self, image: np.ndarray, name: str, box: np.ndarray | None = None) -> ClipFace:
        """The calibration of the face in ``image``: the largest, or with ``box`` the detected face
        that overlaps it most (the box itself if the detector finds none there).

        Raises:
            FaceError: no face.
        """
        if box is None or not np.isfinite(box).all():
            status, matrix, raw, faces = self.faces.locate(image)
            if status == "failed":
                raise FaceError(f"no face found in {name}; give a frame with a visible, roughly frontal face")
            return self.faces.clip_face(status, matrix, raw, name, faces, image.shape[:2])
        detector = self.faces.detector
        boxes = detector.boxes(image)
        found, same = pick_box(boxes, box)
        raw = detector.fit(image, found if same else tuple(int(v) for v in box))
        matrix = calibration_matrix(raw, self.faces.size, self.faces.margin)
        return self.faces.clip_face("detected", matrix, raw, name, max(len(boxes), 1), image.shape[:2])

    @torch.no_grad()
    def _classify(self, frames: Sequence[np.ndarray], apex: int, clip: ClipFace) -> dict[str, float]:
        """Class probabilities (the ensemble's mean) of the clip ``frames`` (onset first) with its apex
        at ``apex``, calibrated by ``clip``."""
        size, color = self.settings.face.size, self.settings.face.color
        device = self.device
        landmarks = torch.as_tensor(clip.landmarks, dtype=torch.float32)[None].to(device)
        mask = torch.from_numpy(clip.mask)[None, None].float().to(device)

        def tensor(face: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(to_chw(face, color)).float().div_(255)

        if self.sequence:
            interpolate = plugins.get("interpolator", self.settings.sequence.interpolator)
            faces = np.stack([warp_face(f, clip.matrix, size) for f in frames])
            clip_frames = resample(faces, self.settings.sequence.length, interpolate, color, clip.frame)
            x = torch.from_numpy(clip_frames).float().div_(255)[None].to(device)
            logits = [m.forward_sequence(x, landmarks, mask) for m in self.models]
        else:
            onset = tensor(warp_face(frames[0], clip.matrix, size))[None].to(device)
            peak = tensor(warp_face(frames[apex], clip.matrix, size))[None].to(device)
            logits = [m(onset, peak, landmarks, mask=mask) for m in self.models]
        probs = torch.stack([lg.softmax(-1)[0] for lg in logits]).mean(0).cpu().tolist()
        return {c: float(p) for c, p in zip(self.classes, probs)}

    def _prediction(self, probs: dict[str, float], onset: int, apex: int, offset: int, clip: ClipFace) -> Prediction:
        return Prediction(max(probs, key=probs.get), probs, onset, apex, offset, clip.status, clip.faces)


def load_model(path: str | Path, device: str | torch.device | None = None) -> Predictor:
    """Load a model directory (``mezoo train``) or a finished LOSO run directory (a fold ensemble).

    ``device``: ``cpu`` (default), ``cuda``, ...

    Example::

        model = mezoo.load_model("models/synthetic-dgm-fu_b_attn-1234abcd")
        model.predict_pair("onset.jpg", "apex.jpg").label

    Raises:
        ModelError: not a model directory, made by a newer mezoo, needing plugins that are not
            installed (named), or damaged.
    """
    from mezoo.devices import resolve_device

    return Predictor(read_model_dir(path), resolve_device(device or "cpu"))


def _name(image: Any, what: str) -> str:
    return str(image) if isinstance(image, (str, Path)) else what


def _as_rgb(array: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise DataError(f"{what} is an array of shape {a.shape}; give (H, W, 3) RGB or (H, W) grey")
    a = a[..., :3]
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
            raise DataError(f"{what} holds values that are not finite numbers")
        a = a * 255.0 if a.max() <= 1.0 else a
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def _same_size(images: Sequence[np.ndarray], names: Sequence[str]) -> None:
    h, w = images[0].shape[:2]
    for image, name in zip(images[1:], names[1:]):
        if image.shape[:2] != (h, w):
            raise DataError(f"{name} is {image.shape[1]} x {image.shape[0]} px but the onset {names[0]} is {w} x {h}; "
                            f"the frames of a clip share the onset's calibration, so they must share its size")


def _frame_files(folder: Path) -> list[Path]:
    """A clip folder's images in frame order: by the number ending their names when all have one
    (``img2`` before ``img10``), else by name."""
    try:
        files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    except OSError as exc:
        raise DataError(f"clip folder {folder} cannot be read ({exc.strerror or exc})") from None
    if files and all(frame_number(p) is not None for p in files):
        return sorted(files, key=lambda p: (frame_number(p), p.name))
    return sorted(files)
