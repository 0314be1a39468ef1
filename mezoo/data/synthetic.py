"""The embedded ``synthetic`` dataset: procedurally drawn faces with subtle, AU-localised motion.

Needs no download and no face detector: each subject's face is drawn from the canonical 68-point
template (:mod:`mezoo.face.template`) with its own shape, colours and skin texture, so its
landmarks are known exactly. A clip animates onset -> apex -> offset by warping that face with a
smooth displacement field of 1-3 px at the apex, placed on the AUs of its class:

- ``surprise``: brows and forehead rise (AU1+2), upper lids lift (AU5); sometimes the jaw drops.
- ``positive``: lip corners pull up and out (AU12), cheeks and lower lids rise (AU6); sometimes on
  one side only.
- ``negative``: inner brows lower and draw together (AU4), lip corners drop (AU15); brows only,
  mouth only, or both.

Distractors: three clips in ten mix in a weaker action of another class; and, carrying no label,
a blink, a lip press or a jaw shift at a random moment, a slow head drift and roll, sensor noise
and brightness flicker. Each subject has its own expression strength, so a model must generalise
across people, as in LOSO on real data.

Everything is a pure function of ``seed``: the same seed draws the same faces and clips.
"""

from __future__ import annotations

import string

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from mezoo.data.sample import Dataset, Sample
from mezoo.face.template import SPAN, canonical_landmarks

CLASSES = ("negative", "positive", "surprise")

# Control points of each action: (landmark indices, displacement per unit amplitude (dx, dy)).
# Image coordinates: +x right, +y down; "left" is the image's left. "forehead_raise" has no
# landmarks of its own: _action_points places it above the brows.
_ACTIONS: dict[str, tuple[tuple[tuple[int, ...], tuple[float, float]], ...]] = {
    "brow_raise": ((tuple(range(17, 27)), (0.0, -1.0)), ((37, 38, 43, 44), (0.0, -0.4))),
    "jaw_drop": (((6, 7, 8, 9, 10, 56, 57, 58), (0.0, 0.8)),),
    "smile_left": (((48,), (-0.6, -0.7)), ((40, 41), (0.0, -0.35))),
    "smile_right": (((54,), (0.6, -0.7)), ((46, 47), (0.0, -0.35))),
    "brow_lower": (((19, 20, 21), (0.45, 0.8)), ((22, 23, 24), (-0.45, 0.8)), ((17, 26), (0.0, 0.3))),
    "lip_depress": (((48,), (-0.1, 0.8)), ((54,), (0.1, 0.8))),
    "blink": (((37, 38, 43, 44), (0.0, 1.0)), ((40, 41, 46, 47), (0.0, -0.2))),
    "lip_press": (((50, 51, 52), (0.0, 0.5)), ((56, 57, 58), (0.0, -0.5))),
    "jaw_shift": (((6, 7, 8, 9, 10), (0.6, 0.0)),),
}
_DISTRACTORS = ("blink", "lip_press", "jaw_shift")


def _class_actions(label: str, rng: np.random.Generator, mix: bool) -> list[tuple[str, float]]:
    """The actions (with relative weights) that make up one clip of ``label``.

    Three clips in ten also carry a weaker action of another class, as real micro-expressions
    mix AUs: the label is the dominant one.
    """
    acts = _main_actions(label, rng)
    if mix and rng.random() < 0.3:
        other = [c for c in CLASSES if c != label][int(rng.integers(len(CLASSES) - 1))]
        weight = float(rng.uniform(0.3, 0.6))
        acts += [(name, w * weight) for name, w in _main_actions(other, rng)]
    return acts


def _main_actions(label: str, rng: np.random.Generator) -> list[tuple[str, float]]:
    if label == "surprise":
        acts = [("brow_raise", 1.0), ("forehead_raise", 0.7)]
        if rng.random() < 0.2:
            acts.append(("jaw_drop", 0.8))
        return acts
    if label == "positive":
        side = rng.random()
        if side < 0.15:
            return [("smile_left", 1.0)]
        if side < 0.3:
            return [("smile_right", 1.0)]
        return [("smile_left", 1.0), ("smile_right", 1.0)]
    variant = rng.random()
    if variant < 0.35:
        return [("brow_lower", 1.0)]
    if variant < 0.7:
        return [("lip_depress", 1.0)]
    return [("brow_lower", 0.8), ("lip_depress", 0.8)]


@dataclass(frozen=True)
class NeutralFace:
    """A neutral face a clip moves: drawn (this module) or a real photo's (:mod:`mezoo.data.photo_motion`)."""

    image: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (68, 2) float64
    strength: float  # the subject's own expression strength


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float, amp: float) -> np.ndarray:
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return noise * (amp / (noise.std() + 1e-6))


@lru_cache(maxsize=64)
def _draw_face(seed: int, subject: int, size: int, span: float = SPAN) -> NeutralFace:
    """Draw subject ``subject``'s neutral face at ``size`` x ``size``, ``span`` face heights across
    (at :data:`~mezoo.face.template.SPAN`, framed as the face pipeline frames a face; wider,
    centred, with forehead and chin around it, as a camera would film it)."""
    rng = np.random.default_rng([seed, subject, 1])
    lm = canonical_landmarks(size, span).copy()
    if span != SPAN:
        lm[:, 1] += (size - size / span) / 2
    centre = lm.mean(0)
    # Per-subject face shape: width, height, eye spacing, brow height, mouth width.
    lm = centre + (lm - centre) * [rng.uniform(0.92, 1.06), rng.uniform(0.95, 1.05)]
    iod = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
    spread = rng.uniform(-0.04, 0.04) * iod
    lm[36:42, 0] -= spread
    lm[17:22, 0] -= spread
    lm[42:48, 0] += spread
    lm[22:27, 0] += spread
    lm[17:27, 1] += rng.uniform(-0.06, 0.06) * iod
    mouth_c = lm[48:68].mean(0)
    lm[48:68, 0] = mouth_c[0] + (lm[48:68, 0] - mouth_c[0]) * rng.uniform(0.9, 1.12)

    ss = 2  # draw at twice the size, then downsample, for anti-aliased edges
    big = size * ss
    skin = np.array([rng.uniform(150, 235), rng.uniform(110, 190), rng.uniform(85, 160)])
    skin = np.clip(skin, 60, 250)
    background = rng.uniform(40, 200, size=3)
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32) / big
    canvas = background[None, None] * (0.85 + 0.3 * yy[..., None])
    canvas = canvas.astype(np.float32)

    def pts(a: np.ndarray) -> np.ndarray:
        return np.round(a * ss * 16).astype(np.int32)  # cv2 shift=4 gives 1/16 px precision

    jaw = lm[0:17]
    top_c = np.array([(jaw[0, 0] + jaw[16, 0]) / 2, jaw[0, 1]])
    half_w = (jaw[16, 0] - jaw[0, 0]) / 2
    top_h = (jaw[0, 1] - lm[17:27, 1].min()) * 2.1
    ang = np.linspace(0, np.pi, 24)
    forehead = np.stack([top_c[0] + half_w * np.cos(ang), top_c[1] - top_h * np.sin(ang)], 1)
    outline = np.concatenate([jaw, forehead[1:-1]], 0)
    hairline = np.stack([top_c[0] + 0.9 * half_w * np.cos(ang), top_c[1] - 0.72 * top_h * np.sin(ang)], 1)
    hair = np.concatenate([forehead[3:-3], hairline[3:-3][::-1]], 0)
    cv2.fillPoly(canvas, [pts(outline)], skin.tolist(), cv2.LINE_AA, shift=4)
    cv2.fillPoly(canvas, [pts(hair)], rng.uniform(10, 90, size=3).tolist(), cv2.LINE_AA, shift=4)

    # Shading: darker towards the face's edge.
    face_mask = np.zeros((big, big), np.float32)
    cv2.fillPoly(face_mask, [pts(outline)], 1.0, cv2.LINE_AA, shift=4)
    shade = cv2.GaussianBlur(face_mask, (0, 0), big * 0.05)
    canvas *= (0.8 + 0.2 * shade)[..., None]

    brow_colour = (skin * rng.uniform(0.2, 0.45)).tolist()
    thick = int(round(rng.uniform(0.018, 0.03) * big))
    for idx in (range(17, 22), range(22, 27)):
        cv2.polylines(canvas, [pts(lm[list(idx)])], False, brow_colour, thick, cv2.LINE_AA, shift=4)
    for idx in (range(36, 42), range(42, 48)):
        eye = lm[list(idx)]
        cv2.fillPoly(canvas, [pts(eye)], (235, 235, 230), cv2.LINE_AA, shift=4)
        iris_r = int(round(np.ptp(eye[:, 1]) * ss * 0.55))
        cv2.circle(canvas, tuple(int(v) for v in pts(eye.mean(0))), iris_r * 16,
                   (skin * 0.25).tolist(), -1, cv2.LINE_AA, shift=4)
        cv2.polylines(canvas, [pts(eye)], True, (skin * 0.35).tolist(), max(2, thick // 3), cv2.LINE_AA, shift=4)
    cv2.polylines(canvas, [pts(lm[27:31])], False, (skin * 0.8).tolist(), 3, cv2.LINE_AA, shift=4)
    cv2.polylines(canvas, [pts(lm[31:36])], False, (skin * 0.6).tolist(), 4, cv2.LINE_AA, shift=4)
    for n in (32, 34):
        cv2.circle(canvas, tuple(int(v) for v in pts(lm[n])), int(0.012 * big) * 16,
                   (skin * 0.35).tolist(), -1, cv2.LINE_AA, shift=4)
    lip_colour = np.clip(skin * [1.0, 0.6, 0.65], 0, 255).tolist()
    cv2.fillPoly(canvas, [pts(lm[48:60])], lip_colour, cv2.LINE_AA, shift=4)
    cv2.polylines(canvas, [pts(lm[60:68])], True, (skin * 0.3).tolist(), 4, cv2.LINE_AA, shift=4)

    image = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    # Skin texture (pores, blotches) that moves with the face and gives optical flow a grip.
    mask = cv2.resize(face_mask, (size, size), interpolation=cv2.INTER_AREA)[..., None]
    texture = _smooth_noise(rng, (size, size), 1.0, 6.0) + _smooth_noise(rng, (size, size), 5.0, 7.0)
    image = image + texture[..., None] * (0.4 + 0.6 * mask)
    image = np.clip(image, 0, 255).astype(np.uint8)
    return NeutralFace(image=image, landmarks=lm, strength=float(rng.uniform(0.7, 1.3)))


def _action_points(name: str, lm: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(points (n, 2), displacement per unit amplitude (2,)) of one action on face ``lm``."""
    if name == "forehead_raise":
        iod = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
        return [(lm[17:27] - [0.0, 0.35 * iod], np.array([0.0, -1.0]))]
    return [(lm[list(idx)], np.array(vec, dtype=np.float64)) for idx, vec in _ACTIONS[name]]


def _field_at(points: np.ndarray, ctrl: np.ndarray, vecs: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted blend of the vectors ``vecs`` at centres ``ctrl``, evaluated at ``points``.

    Where bumps overlap their weights are normalised (a partition of unity), so a point next to
    many control points moves by about their vectors' mean rather than by their sum: the motion
    stays at the amplitude asked for, and fades to zero away from the control points.
    """
    if len(ctrl) == 0:
        return np.zeros_like(points)
    d2 = ((points[:, None, :] - ctrl[None]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma**2))
    return (w @ vecs) / np.maximum(w.sum(1, keepdims=True), 1.0)


class SyntheticClip:
    """One synthetic clip; renders frames on demand (a :class:`~mezoo.data.sample.FrameSource`)."""

    def __init__(self, seed: int, subject: int, clip: int, label: str, num_frames: int, size: int,
                 amplitude: tuple[float, float], distractors: bool, span: float = SPAN,
                 face: NeutralFace | None = None):
        """``face``: the neutral face to move (``size`` x ``size``); default subject ``subject``'s drawn one."""
        rng = np.random.default_rng([seed, subject, 2, clip])
        self.face = _draw_face(seed, subject, size, span) if face is None else face
        self.size = size
        self.num_frames = num_frames
        self.apex = int(rng.integers(num_frames // 3, 2 * num_frames // 3 + 1))
        amp = float(rng.uniform(*amplitude)) * self.face.strength
        lm = self.face.landmarks
        iod = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
        self.sigma = 0.13 * iod
        ctrl, vecs = [], []
        for action, weight in _class_actions(label, rng, distractors):
            for p, v in _action_points(action, lm):
                ctrl.append(p)
                vecs.append(np.broadcast_to(v * amp * weight, p.shape))
        self.ctrl = np.concatenate(ctrl)
        self.vecs = np.concatenate(vecs)
        # A distractor with its own timing, independent of the label.
        self.d_ctrl = np.zeros((0, 2))
        self.d_vecs = np.zeros((0, 2))
        self.d_peak = 0
        if distractors and rng.random() < 0.7:
            action = _DISTRACTORS[int(rng.integers(len(_DISTRACTORS)))]
            d_amp = float(rng.uniform(1.0, 2.5))
            pv = _action_points(action, lm)
            self.d_ctrl = np.concatenate([p for p, _ in pv])
            self.d_vecs = np.concatenate([np.broadcast_to(v * d_amp, p.shape) for p, v in pv])
            self.d_peak = int(rng.integers(1, num_frames))
        self.drift = rng.normal(0.0, 0.8, size=2) if distractors else np.zeros(2)  # px by the last frame
        self.roll = rng.normal(0.0, 0.5) if distractors else 0.0  # degrees by the last frame
        self.noise = float(rng.uniform(1.0, 3.0)) if distractors else 0.0
        self.gains = 1.0 + (rng.normal(0.0, 0.015, size=num_frames) if distractors else np.zeros(num_frames))
        self.noise_seed = int(rng.integers(2**31))
        grid = np.mgrid[0:size, 0:size].astype(np.float32)
        self._grid = np.stack([grid[1], grid[0]], -1)
        # The motion field is smooth (sigma ~ 9 px at 224): evaluate it on a grid 2x coarser and
        # interpolate, which is 4x cheaper (within about 0.06 px) and exact for the affine head motion.
        # Coarse points sit where cv2.resize expects source pixel centres, so upsampling is exact.
        self._n = max(size // 2, 2)
        coarse = (np.arange(self._n) + 0.5) * (size / self._n) - 0.5
        cy, cx = np.meshgrid(coarse, coarse, indexing="ij")
        self._coarse = np.stack([cx, cy], -1).reshape(-1, 2)

    def __len__(self) -> int:
        return self.num_frames

    def intensity(self, t: int) -> float:
        """Expression intensity: 0 at the onset, 1 at the apex, 0.3 at the offset."""
        if t <= self.apex:
            return float(np.sin(0.5 * np.pi * t / max(self.apex, 1)) ** 2)
        tail = (t - self.apex) / max(self.num_frames - 1 - self.apex, 1)
        return float(1.0 - 0.7 * np.sin(0.5 * np.pi * tail) ** 2)

    def _displacement(self, points: np.ndarray, t: int) -> np.ndarray:
        u = self.intensity(t) * _field_at(points, self.ctrl, self.vecs, self.sigma)
        if len(self.d_ctrl):
            pulse = float(np.exp(-0.5 * ((t - self.d_peak) / 1.2) ** 2))
            u += pulse * _field_at(points, self.d_ctrl, self.d_vecs, self.sigma)
        frac = t / max(self.num_frames - 1, 1)
        theta = np.deg2rad(self.roll * frac)
        c = np.array([self.size / 2, self.size / 2])
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        u += (points - c) @ rot.T + c - points + self.drift * frac
        return u

    def _field(self, index: int) -> np.ndarray:
        """``(size, size, 2)`` the displacement the frame is rendered with: frame(x) = face(x - u(x))."""
        n = self._n
        u = self._displacement(self._coarse, index).reshape(n, n, 2).astype(np.float32)
        return cv2.resize(u, (self.size, self.size), interpolation=cv2.INTER_LINEAR)

    def motion(self, first: int, second: int) -> np.ndarray:
        """The true motion from frame ``first`` to frame ``second``: ``(2, size, size)`` float32 pixels
        (x then y), at each pixel of ``first``, where its content is in ``second``.

        Exact for the frames as rendered (before noise and flicker): the pixel ``x`` of ``first``
        shows the face at ``x - u1(x)``, which ``second`` shows at the ``y`` with
        ``y - u2(y) = x - u1(x)``, solved by fixed-point iteration (the fields are smooth and
        small, so it converges to well under 0.01 px in a few steps).
        """
        u1, u2 = self._field(first), self._field(second)
        source = self._grid - u1
        y = source + u2
        for _ in range(4):
            y = source + cv2.remap(u2, y[..., 0], y[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.ascontiguousarray((y - self._grid).transpose(2, 0, 1))

    def frame(self, index: int) -> np.ndarray:
        return self._render(self._field(index), self.gains[index], index)

    def settling(self, alpha: float, step: int) -> np.ndarray:
        """The face on its way back from the last frame to neutral: the last frame's displacement
        scaled by ``alpha`` (1: the last frame, 0: the neutral face), with noise of its own (``step``)."""
        last = self.num_frames - 1
        return self._render(alpha * self._field(last), self.gains[last], self.num_frames + step)

    def _render(self, u: np.ndarray, gain: float, noise_index: int) -> np.ndarray:
        # Backward warp: the pixel at x comes from x - u(x), a good inverse for smooth, small u.
        maps = self._grid - u
        out = cv2.remap(self.face.image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REFLECT)
        out = out.astype(np.float32) * gain
        if self.noise:
            rng = np.random.default_rng([self.noise_seed, noise_index])
            out += rng.normal(0.0, self.noise, size=out.shape)
        return np.clip(out, 0, 255).astype(np.uint8)

    def landmarks(self, index: int) -> np.ndarray:
        lm = self.face.landmarks
        return lm + self._displacement(lm, index)


class SyntheticDataset(Dataset):
    """Procedural micro-expression clips for ``subjects`` people, 3 classes (see module docstring).

    Args:
        subjects: number of people (LOSO folds).
        clips_per_subject: clips per person; classes are spread evenly, then shuffled.
        frames: frames per clip (onset is frame 0, offset the last).
        size: frame size in pixels (already the calibrated face size).
        amplitude: range of the apex displacement in pixels, before the subject's own strength.
        distractors: mix in other classes' actions, add blinks, lip presses, jaw shifts, head drift,
            noise and flicker.
        seed: everything is a pure function of it.
        span: face heights (brow top to chin) across a frame. The default is the face
            pipeline's own framing (:data:`~mezoo.face.template.SPAN`: the brow top on the top
            edge, the chin tip just below the bottom), since the frames are used as calibrated
            faces; a wider one (e.g. 1.6) centres the face with its forehead and chin in view,
            as a camera films it, for a face detector (``mezoo synthetic-video``).
        parts: spread the subjects over this many dataset parts, ``synthetic_a``, ``synthetic_b``,
            ... (subject ``k`` in part ``k % parts``), as a composite of several databases is, for
            the ``leave_one_database_out`` and ``cross_dataset`` protocols; 1: one dataset,
            ``synthetic``.
    """

    classes: ClassVar[tuple[str, ...]] = CLASSES
    #: the true motion of every sample is known (:func:`true_motion`)
    knows_motion: ClassVar[bool] = True
    # Scaled down from the defaults so the embedded LOSO finishes in minutes on 2 CPU cores:
    # fewer epochs, and a lighter DGM (half resolution, 8 base channels, 16 pairs a step) that
    # starts from the weights pre-trained on synthetic clips of other seeds (scripts/pretrain_dgm.py);
    # from scratch (weights: null), a longer self-supervised warm-up, since the classifier trains
    # for only a few dozen steps.
    config_defaults: ClassVar[dict[str, Any]] = {
        "train": {"epochs": 10},
        "displacement": {"dgm": {"scale": 0.5, "width": 8, "pair_batch_size": 16, "warmup_steps": 150,
                                 "weights": "synthetic"}},
    }

    def __init__(self, root: Any = None, subjects: int = 8, clips_per_subject: int = 12, frames: int = 12,
                 size: int = 224, amplitude: tuple[float, float] = (1.0, 3.0), distractors: bool = True,
                 seed: int = 0, span: float = SPAN, parts: int = 1):
        super().__init__(root)
        if subjects < 2:
            from mezoo.errors import ConfigError

            raise ConfigError("dataset.synthetic.subjects must be at least 2 for leave-one-subject-out")
        if not 1 <= parts <= min(subjects, 26):
            from mezoo.errors import ConfigError

            raise ConfigError(f"dataset.synthetic.parts is {parts}; it must be from 1 to the number of subjects "
                              f"({subjects}, at most 26)")
        self.parts = int(parts)
        self.subjects = subjects
        self.clips_per_subject = clips_per_subject
        self.frames = frames
        self.size = size
        self.amplitude = (float(amplitude[0]), float(amplitude[1]))
        self.distractors = distractors
        self.seed = seed
        self.span = float(span)

    def samples(self) -> list[Sample]:
        out = []
        for s in range(self.subjects):
            rng = np.random.default_rng([self.seed, s, 0])
            labels = [CLASSES[i % len(CLASSES)] for i in range(self.clips_per_subject)]
            labels = [labels[i] for i in rng.permutation(len(labels))]
            for c, label in enumerate(labels):
                clip = SyntheticClip(self.seed, s, c, label, self.frames, self.size, self.amplitude,
                                     self.distractors, self.span)
                part = "synthetic" if self.parts == 1 else f"synthetic_{string.ascii_lowercase[s % self.parts]}"
                out.append(Sample(
                    dataset=part, subject=f"s{s:02d}", episode=f"clip{c:02d}", settings="dataset.synthetic",
                    onset=0, apex=clip.apex, offset=self.frames - 1,
                    emotion=label, label=label, source=clip,
                ))
        return out


def true_motion(sample: Sample, size: int | None = None, first: int | None = None,
                second: int | None = None) -> np.ndarray:
    """The true motion of a ``synthetic`` (or ``photo_motion``) sample from ``first`` (default its onset) to ``second``
    (default its apex): ``(2, size, size)`` float32 pixels on the ``size`` canvas the face stage
    resizes the frames to (default the dataset's own size, where the two coincide).

    Raises:
        ValueError: ``sample`` is not from a dataset that knows its motion (``synthetic``, ``photo_motion``).
    """
    clip = sample.source
    if not isinstance(clip, SyntheticClip):
        raise ValueError(f"sample {sample.key}: only samples of synthetic and photo_motion know their true motion")
    flow = clip.motion(sample.onset if first is None else first, sample.apex if second is None else second)
    if size is not None and size != clip.size:
        flow = cv2.resize(flow.transpose(1, 2, 0), (size, size), interpolation=cv2.INTER_LINEAR)
        flow = np.ascontiguousarray(flow.transpose(2, 0, 1)) * (size / clip.size)
    return flow


#: The framing of the faces ``mezoo synthetic-video`` films: face heights across a frame, with the
#: forehead and chin in view for the face detector.
VIDEO_SPAN = 1.6


def write_video(path: str | Path, clips: list[Sample], fps: float = 30.0, size: tuple[int, int] = (640, 480),
                hold: float = 1.5, settle: float = 1.0, seed: int = 0) -> list[dict[str, Any]]:
    """Render synthetic ``clips`` into one video (MP4 by OpenCV's ``mp4v``), as a camera would film a
    face: each clip's face in the middle of a ``size`` frame (a textured grey background), its onset
    frame held for ``hold`` seconds before it (a still, neutral face with sensor noise), then the
    clip, its last frame held ``hold`` seconds after, then the face easing back to neutral over
    ``settle`` seconds (slowly, as a face relaxes: no jump to the next clip's onset); one clip
    after another.

    Returns:
        Where each clip is in the video: its key, label and the video frame numbers of its onset,
        apex and offset.

    Raises:
        DataError: OpenCV cannot write ``path``.
    """
    from mezoo.errors import DataError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height))
    if not writer.isOpened():
        raise DataError(f"OpenCV cannot write the video {path}; give a path ending in .mp4 in a writable folder")
    rng = np.random.default_rng(seed)
    background = np.clip(110 + _smooth_noise(rng, (height, width), 6.0, 12.0), 0, 255)[..., None].repeat(3, 2)
    held = max(int(round(hold * fps)), 0)
    truth, n = [], 0

    def put(face: np.ndarray) -> None:
        nonlocal n
        frame = background.copy()
        h, w = face.shape[:2]
        y, x = (height - h) // 2, (width - w) // 2
        frame[y:y + h, x:x + w] = face
        frame += rng.normal(0.0, 1.5, size=frame.shape)  # the camera's noise: no two frames alike
        writer.write(cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
        n += 1

    try:
        for sample in clips:
            side = sample.read_frame(0).shape[0]
            if min(width, height) < side:
                raise DataError(f"a {width} x {height} video cannot hold the {side} px synthetic faces; make it larger")
            for _ in range(held):
                put(sample.read_frame(sample.onset))
            start = n
            for i in range(sample.onset, sample.offset + 1):
                put(sample.read_frame(i))
            truth.append({"key": sample.key, "label": sample.label, "onset": start, "apex": start + sample.apex - sample.onset,
                          "offset": start + sample.offset - sample.onset})
            for _ in range(held):
                put(sample.read_frame(sample.offset))
            steps = int(round(settle * fps))
            for k in range(steps if isinstance(sample.source, SyntheticClip) else 0):
                x = (k + 1) / steps
                put(sample.source.settling(1.0 - x * x * (3 - 2 * x), k))  # smoothstep from 1 to 0
    finally:
        writer.release()
    return truth
