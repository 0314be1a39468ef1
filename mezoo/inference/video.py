"""Reading a video and following one face through it, measuring its motion on the way.

One pass over the frames (:func:`scan`): the face is detected every ``every`` frames (dlib's HOG
detector is the expensive step) and its landmarks fitted in the detected box; between
detections the last calibration is kept. With two faces in view, the one whose box overlaps the
previous detection most is kept, so the track stays on one person; the largest face starts it.
Each frame is compared with the frame ``lag`` before it on the face calibrated by the later one's
transform (:mod:`mezoo.face.spotting`), so a re-detection that shifts the calibration a
little never shows as motion.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from mezoo.errors import DataError
from mezoo.face.calibration import Calibration
from mezoo.face import spotting
from mezoo.face.landmarks import FaceError, LandmarkDetector
from mezoo.face.template import SPAN
from mezoo.face.spotting import CANVAS, GRID, Peak, block_flow, grey_face, returning_motion
from mezoo.inference.images import MIN_SIDE

#: frames per second assumed when a video does not say
DEFAULT_FPS = 30.0
#: a detection continues the track when its box overlaps the track's by at least this (IoU)
TRACK_IOU = 0.3
#: frames between two spans that :func:`span_frames` skips by seeking rather than reading through
SEEK_GAP = 64


@dataclass(frozen=True)
class VideoInfo:
    """A video as OpenCV reads it: frames per second (:data:`DEFAULT_FPS` when it gives none, with
    ``fps_known`` False), frame count (0 when unknown), width and height."""

    path: Path
    fps: float
    fps_known: bool
    frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def open_video(path: str | Path) -> VideoInfo:
    """What OpenCV knows of ``path``.

    Raises:
        DataError: it does not exist, OpenCV cannot open it, or its frames are too small.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"video {path} does not exist" if not path.exists() else f"video {path} is not a file")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise DataError(f"{path} cannot be read as a video by OpenCV (not a video, damaged, or a codec its FFmpeg "
                            f"lacks); convert it, e.g. `ffmpeg -i {path} -c:v libx264 out.mp4`")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        known = np.isfinite(fps) and 0 < fps < 10_000
        info = VideoInfo(path, fps if known else DEFAULT_FPS, bool(known), max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
                         int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        cap.release()
    if info.width and info.height and min(info.width, info.height) < MIN_SIDE:
        raise DataError(f"video {path} is {info.width} x {info.height} px; the face pipeline needs at least {MIN_SIDE} px "
                        f"on each side")
    return info


def video_frames(path: str | Path, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
    """Frames ``first`` .. ``last`` (inclusive; fewer if the video ends) as ``(index, RGB uint8)``."""
    cap = cv2.VideoCapture(str(path))
    try:
        if first > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, first)
        i = first
        while i <= last:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                return
            yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()


def span_frames(path: str | Path, spans: Sequence[tuple[int, int]]) -> Iterator[list[np.ndarray]]:
    """The frames of each span ``(first, last)`` (inclusive; fewer if the video ends), spans in time
    order, from one pass over the video: a frame shared by overlapping spans is decoded once, a
    short gap is read through and a long one (over :data:`SEEK_GAP` frames) skipped by seeking.
    Only the frames a later span shares are kept in memory."""
    cap = cv2.VideoCapture(str(path))
    kept: dict[int, np.ndarray] = {}
    position, ended = 0, False
    try:
        for k, (first, last) in enumerate(spans):
            frames = []
            for i in range(first, last + 1):
                if i not in kept and not ended:
                    if i < position or i - position > SEEK_GAP:
                        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
                        position = i
                    while position < i and cap.grab():
                        position += 1
                    ok, bgr = cap.read() if position == i else (False, None)
                    if not ok or bgr is None:
                        ended = True
                    else:
                        kept[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                        position = i + 1
                if i not in kept:
                    break
                frames.append(kept[i])
            yield frames
            later = spans[k + 1][0] if k + 1 < len(spans) else last + 1
            kept = {i: f for i, f in kept.items() if i >= later}
    finally:
        cap.release()


def iou(a: tuple[float, ...] | np.ndarray, b: tuple[float, ...] | np.ndarray) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def pick_box(boxes: list[tuple[int, int, int, int]], track: np.ndarray | None) -> tuple[tuple[int, int, int, int] | None, bool]:
    """The detected box that continues ``track`` (best overlap), else the largest; and whether it continues it."""
    if not boxes:
        return None, False
    if track is not None:
        best = max(boxes, key=lambda b: iou(b, track))
        if iou(best, track) >= TRACK_IOU:
            return best, True
    return boxes[0], False


@dataclass
class Scan:
    """What one pass over a video measured, one entry per frame ``first`` .. ``first + len - 1``.

    ``signal``: the returning-motion score (:func:`~mezoo.face.spotting.returning_motion`;
    NaN where it cannot be measured: no face at the frame or ``lag`` away, or a different face);
    ``found``: a face was tracked at the frame; ``boxes`` ``(n, 4)``: its box (NaN without);
    ``track``: which face (a new number each time the track starts again; -1 without).
    """

    first: int
    signal: np.ndarray
    found: np.ndarray
    boxes: np.ndarray
    track: np.ndarray

    @property
    def last(self) -> int:
        return self.first + len(self.signal) - 1


def scan(info: VideoInfo, detector: LandmarkDetector, first: int, last: int, every: int, lag: int,
         span: float = SPAN, progress: bool = False) -> Scan:
    """Track the face from frame ``first`` to ``last`` and score every frame's motion (module docstring).

    Raises:
        DataError: no frame could be read from ``first`` on.
    """
    flows: list[np.ndarray] = []
    found: list[bool] = []
    boxes: list[np.ndarray] = []
    tracks: list[int] = []
    recent: deque[np.ndarray] = deque(maxlen=lag + 1)  # grey frames, the newest last
    nan_flow = np.full((GRID * GRID, 2), np.nan, np.float32)
    box_now: np.ndarray | None = None
    face: Calibration | None = None
    track, missed = -1, 0
    total = (min(last, info.frames - 1) if info.frames else last) - first + 1
    bar = tqdm(total=total if total < 10**9 else None, desc="video", unit="frame", disable=not progress, leave=False)
    for j, (i, frame) in enumerate(video_frames(info.path, first, last)):
        if j == 0 and min(frame.shape[:2]) < MIN_SIDE:
            raise DataError(f"video {info.path} is {frame.shape[1]} x {frame.shape[0]} px; the face pipeline needs at "
                            f"least {MIN_SIDE} px on each side")
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if j % every == 0:
            box, continues = pick_box(detector.boxes(frame), box_now)
            if box is None and box_now is not None and missed < 1:
                missed += 1  # the detector missed the face once: keep following the last box
            elif box is None:
                box_now, face = None, None
            else:
                if not continues:
                    track += 1
                missed = 0
                face = detector.calibrate(frame, CANVAS, span, box=box)
                box_now = np.asarray(box, dtype=np.float64)
        has = face is not None
        found.append(has)
        boxes.append(box_now if has else np.full(4, np.nan))
        tracks.append(track if has else -1)
        recent.append(grey)
        if face is not None and j >= lag and tracks[j - lag] == track:
            flows.append(block_flow(grey_face(recent[0], face), grey_face(grey, face), face.mask))
        else:
            flows.append(nan_flow)
        bar.update()
    bar.close()
    if not found:
        raise DataError(f"no frame of video {info.path} could be read from frame {first} on (an empty or damaged file, "
                        f"or --start past its end)")
    n = len(found)
    signal = np.full(n, np.nan)
    ids = np.asarray(tracks)
    for j in range(n - lag):
        if ids[j] >= 0 and ids[j + lag] == ids[j] and np.isfinite(flows[j + lag]).any():
            signal[j] = returning_motion(flows[j], flows[j + lag])
    return Scan(first, signal, np.asarray(found), np.stack(boxes), ids)


@dataclass
class Spotted:
    """What :func:`spot` found in a video: the ``scan``, the spotting window ``lag`` and detection
    interval ``every`` in frames, the threshold ``level``, the ``peaks`` (frame numbers of the
    video, in time order) and the stretches ``no_face`` (``(first frame, last frame)``) with no face."""

    info: VideoInfo
    scan: Scan
    every: int
    lag: int
    level: float
    peaks: list[Peak]
    no_face: list[tuple[int, int]]


def spot(path: str | Path, detector: LandmarkDetector, span: float = SPAN, start: float | None = None,
         end: float | None = None, every: int | None = None, lag: float = 0.2, z: float = 6.0, floor: float = 0.1,
         progress: bool = False) -> Spotted:
    """Spot the micro-expressions of a video: :func:`scan` from ``start`` to ``end`` (seconds), the
    face detected every ``every`` frames (default: five times a second), each frame's motion against
    the frames ``lag`` seconds away; apexes above ``median + z * robust spread`` (at least
    ``floor``), none within two lags of a stronger one (:func:`~mezoo.face.spotting.peaks`).

    Raises:
        DataError: the video cannot be read, is empty, or ``start`` is past its end;
        FaceError: no face anywhere from ``start`` to ``end``.
    """
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
    result = scan(info, detector, first, last, every, lag_frames, span, progress)
    no_face = [(result.first + a, result.first + b) for a, b in spotting.stretches(~result.found)]
    if not result.found.any():
        raise FaceError(f"no face found in {info.path} from {first / info.fps:.2f} s to {result.last / info.fps:.2f} s "
                        f"(looked every {every} frames); give a video with a visible, roughly frontal face")
    level = spotting.threshold(result.signal, z, floor)
    peaks = [Peak(result.first + p.onset, result.first + p.apex, result.first + p.offset, p.score)
             for p in spotting.peaks(result.signal, lag_frames, level)]
    return Spotted(info, result, every, lag_frames, level, peaks, no_face)
