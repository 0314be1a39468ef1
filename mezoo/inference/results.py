"""What a trained model says: a :class:`Prediction` for a pair or a clip, a :class:`VideoPrediction`
(its spotted intervals, :class:`Interval`) for a video, each as plain data and, for a video, as files."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


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

    def markdown(self, what: str) -> str:
        """``what`` was classified (a line), the probabilities as a table, most likely first, and the class."""
        rows = [f"| {name} | {p:.3f} |" for name, p in sorted(self.probs.items(), key=lambda kv: -kv[1])]
        several = f" (the largest of {self.faces} faces)" if self.faces > 1 else ""
        return "\n".join([what, "| class | probability |", "|---|---:|", *rows, f"Predicted: {self.label}{several}"])


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

    def markdown(self) -> str:
        """What was spotted, as ``mezoo predict VIDEO`` prints it: a line on the video, a table of the
        intervals, the stretches with no face, notes, and the speed."""
        lines = [f"{self.path}: frames {self.first}-{self.last} at {self.fps:g} fps; "
                 f"{len(self.intervals)} micro-expression(s) spotted (threshold {self.level:.3f})"]
        if self.intervals:
            lines += ["| onset | apex | offset | seconds | motion | class | probability |",
                      "|---:|---:|---:|---|---:|---|---:|"]
            for i in self.intervals:
                p = f"{i.probs[i.label]:.3f}" if i.label else i.note
                lines.append(f"| {i.onset} | {i.apex} | {i.offset} | {i.onset_s:.2f}-{i.offset_s:.2f} | {i.score:.2f} "
                             f"| {i.label or '-'} | {p} |")
        lines += [f"No face: frames {a}-{b} ({a / self.fps:.2f}-{(b + 1) / self.fps:.2f} s)" for a, b in self.no_face]
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(f"Processed {self.last - self.first + 1} frames in {self.seconds:.1f} s "
                     f"({self.frames_per_second:.0f} frames/s)")
        return "\n".join(lines)

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
