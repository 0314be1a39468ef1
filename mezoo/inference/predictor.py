"""A trained model on new faces: an onset/apex pair, a clip, or a whole video.

Every form goes through the face calibration the model was trained with (its ``face`` settings):
the face is found on the onset frame (the largest face; in a video, the tracked one), calibrated
to the brows-to-chin template, and every other frame is warped with the onset's transform, so
the motion between them is the face's, not the landmark fitter's. Nothing is cached: new frames
are seen once.

A model trained on ``synthetic`` was trained on frames whose landmarks were known; on new frames
its faces are found by dlib like any others (dlib finds the synthetic faces; the calibrated face
then differs from the training framing by the fitter's error, a few pixels).

The pieces beside this module: the results (:mod:`~mezoo.inference.results`), the images a user
gives (:mod:`~mezoo.inference.images`), the video tracker and spotter (:mod:`~mezoo.inference.video`)
and model directories (:mod:`~mezoo.inference.modeldir`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mezoo import plugins
from mezoo.data.sample import Sample
from mezoo.engine.frames import resample, to_chw
from mezoo.errors import DataError, MezooWarning
from mezoo.face.calibration import Calibration
from mezoo.face.landmarks import FaceError, LandmarkDetector
from mezoo.inference.images import FrameList, clip_images, image_name, read_image, same_size
from mezoo.inference.modeldir import ModelFiles, check_versions, load_state, read_model_dir
from mezoo.inference.results import Interval, Prediction, VideoPrediction
from mezoo.inference.video import Spotted, pick_box, span_frames, spot
from mezoo.model import FRLDGT, build_model, is_sequence_model


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
        self._detector: LandmarkDetector | None = None
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

    @property
    def detector(self) -> LandmarkDetector:
        """The face detector and landmark fitter of the model's ``face`` settings (loaded on first use)."""
        if self._detector is None:
            face = self.settings.face
            self._detector = LandmarkDetector(face.predictor, face.upsample, face.fallback, face.detect_size)
        return self._detector

    # -- the three forms ---------------------------------------------------------------------

    def predict_pair(self, onset: Any, apex: Any) -> Prediction:
        """The class of the micro-expression from ``onset`` to ``apex`` (two frames of one clip).

        A sequence model (FRL-DGT-S) gets the clip resampled from the two frames.

        Raises:
            DataError: an image that cannot be read or used; FaceError: no face on the onset.
        """
        first, second = read_image(onset, "onset"), read_image(apex, "apex")
        same_size([first, second], [image_name(onset, "onset"), image_name(apex, "apex")])
        clip = self._calibrate(first, image_name(onset, "onset"))
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
        names, images = clip_images(frames)
        same_size(images, names)
        clip = self._calibrate(images[0], names[0])
        n = len(images)
        if apex is None:
            sample = Sample("clip", "input", Path(names[0]).parent.name or "clip", 0, 0, n - 1, "", "",
                            source=FrameList(images, clip.raw))
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
        it (:mod:`mezoo.face.spotting`); frames scoring above ``median + z * robust spread``
        (and at least ``floor`` px of a 224 px face) that are the highest within ``2 * lag`` are
        apexes, with the onset ``lag`` before and the offset ``lag`` after; each is classified from
        its onset and apex (a sequence model: from onset to offset). ``start`` and ``end`` (seconds)
        cut a long video. Stretches with no face are reported (``no_face``), not spotted in.

        Raises:
            DataError: the video cannot be read, is empty, or ``start`` is past its end;
            FaceError: no face anywhere from ``start`` to ``end``.
        """
        began = time.perf_counter()
        spotted = spot(path, self.detector, self.settings.face.span, start, end, every, lag, z, floor, progress)
        info, fps = spotted.info, spotted.info.fps
        intervals = []
        spans = [(peak.onset, peak.offset) for peak in spotted.peaks]
        for peak, frames in zip(spotted.peaks, span_frames(info.path, spans)):
            label, probs, note = self._classify_interval(spotted, frames, peak.onset, peak.apex)
            intervals.append(Interval(peak.onset, peak.apex, peak.offset, round(peak.onset / fps, 3),
                                      round(peak.apex / fps, 3), round(peak.offset / fps, 3), round(peak.score, 4),
                                      label, probs, note))
        notes = [] if info.fps_known else [f"the video gives no frame rate; {fps:g} fps assumed"]
        return VideoPrediction(str(info.path), fps, spotted.scan.first, spotted.scan.last, spotted.lag, spotted.every,
                               spotted.level, intervals, spotted.scan.signal, spotted.no_face, self.classes,
                               time.perf_counter() - began, notes)

    # -- internals ---------------------------------------------------------------------------

    def _classify_interval(self, spotted: Spotted, frames: list[np.ndarray], onset: int,
                           apex: int) -> tuple[str | None, dict[str, float], str]:
        """The class of a spotted interval from its ``frames`` (onset first), the face calibrated
        on its onset in the box the tracker had there."""
        if len(frames) < apex - onset + 1:
            return None, {}, "frames could not be read again"
        box = spotted.scan.boxes[onset - spotted.scan.first]
        try:
            clip = self._calibrate(frames[0], f"{spotted.info.path} frame {onset}", box)
        except FaceError:
            return None, {}, "no face could be calibrated at the onset"
        probs = self._classify(frames, apex - onset, clip)
        return max(probs, key=probs.get), probs, ""

    def _calibrate(self, image: np.ndarray, name: str, box: np.ndarray | None = None) -> Calibration:
        """The calibration of the face in ``image``: the largest, or with ``box`` the detected face
        that overlaps it most (the box itself if the detector finds none there).

        Raises:
            FaceError: no face.
        """
        size, span = self.settings.face.size, self.settings.face.span
        if box is None or not np.isfinite(box).all():
            clip = self.detector.calibrate(image, size, span, name=name)
            if clip.failed:
                raise FaceError(f"no face found in {name}; give a frame with a visible, roughly frontal face")
            return clip
        boxes = self.detector.boxes(image)
        found, same = pick_box(boxes, box)
        return self.detector.calibrate(image, size, span, name=name, box=found if same else box,
                                       faces=max(len(boxes), 1))

    @torch.no_grad()
    def _classify(self, frames: Sequence[np.ndarray], apex: int, clip: Calibration) -> dict[str, float]:
        """Class probabilities (the ensemble's mean) of the clip ``frames`` (onset first) with its apex
        at ``apex``, calibrated by ``clip``."""
        color, device = self.settings.face.color, self.device
        landmarks = torch.as_tensor(clip.landmarks, dtype=torch.float32, device=device)[None]
        mask = torch.from_numpy(clip.mask)[None, None].float().to(device)

        def tensor(face: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(to_chw(face, color)).float().div_(255)

        if self.sequence:
            interpolate = plugins.get("interpolator", self.settings.sequence.interpolator)
            faces = np.stack([clip.warp(f) for f in frames])
            clip_frames = resample(faces, self.settings.sequence.length, interpolate, color, clip.frame)
            x = torch.from_numpy(clip_frames).float().div_(255)[None].to(device)
            logits = [m.forward_sequence(x, landmarks, mask) for m in self.models]
        else:
            onset = tensor(clip.warp(frames[0]))[None].to(device)
            peak = tensor(clip.warp(frames[apex]))[None].to(device)
            logits = [m(onset, peak, landmarks, mask=mask) for m in self.models]
        probs = torch.stack([lg.softmax(-1)[0] for lg in logits]).mean(0).cpu().tolist()
        return {c: float(p) for c, p in zip(self.classes, probs)}

    def _prediction(self, probs: dict[str, float], onset: int, apex: int, offset: int, clip: Calibration) -> Prediction:
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

