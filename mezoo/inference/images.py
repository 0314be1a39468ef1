"""The images a user gives a model: file paths or arrays, read, checked and made RGB uint8, and
clip folders in frame order. Every problem is a :class:`~mezoo.errors.DataError` naming the image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mezoo.data.native import IMAGE_SUFFIXES, frame_number
from mezoo.errors import DataError

#: the smallest image side the face pipeline takes (dlib finds no face below ~40 px)
MIN_SIDE = 48


def image_name(image: Any, what: str) -> str:
    """How messages name ``image``: its path, else ``what`` (``"onset"``, ``"frame 3"``)."""
    return str(image) if isinstance(image, (str, Path)) else what


def read_image(image: Any, what: str) -> np.ndarray:
    """An image argument (a file path, or an array: ``(H, W, 3)`` RGB or ``(H, W)`` grey; floats
    in [0, 1] are scaled) as ``(H, W, 3)`` RGB uint8, checked.

    Raises:
        DataError: a missing or undecodable file, an array of another shape or with non-finite
            values, or an image under :data:`MIN_SIDE` px.
    """
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
        rgb = as_rgb(image, what)
    else:
        raise DataError(f"{what} must be an image file path or a numpy array, not {type(image).__name__}")
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise DataError(f"{image_name(image, what)} is {rgb.shape[1]} x {rgb.shape[0]} px; the face pipeline needs at "
                        f"least {MIN_SIDE} px on each side (a face of 40 px or more)")
    return rgb


def as_rgb(array: np.ndarray, what: str) -> np.ndarray:
    """An array as ``(H, W, 3)`` RGB uint8 (grey repeated, alpha dropped, floats in [0, 1] scaled).

    Example:
        >>> as_rgb(np.full((2, 2), 0.5), "frame").tolist()[0][0]
        [128, 128, 128]
    """
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


def same_size(images: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Check that every frame of a clip has the onset's size (they share its calibration).

    Raises:
        DataError: naming the first frame that differs.
    """
    h, w = images[0].shape[:2]
    for image, name in zip(images[1:], names[1:]):
        if image.shape[:2] != (h, w):
            raise DataError(f"{name} is {image.shape[1]} x {image.shape[0]} px but the onset {names[0]} is {w} x {h}; "
                            f"the frames of a clip share the onset's calibration, so they must share its size")


def clip_images(frames: Any) -> tuple[list[str], list[np.ndarray]]:
    """A clip (a folder of frame images, or a sequence of images) as its frames' names and images.

    Raises:
        DataError: not a folder, fewer than two frames, an unreadable frame.
    """
    if isinstance(frames, (str, Path)):
        folder = Path(frames)
        if not folder.is_dir():
            raise DataError(f"clip {folder} is not a folder of frames" + (" (for a video file, use predict_video / "
                            "`mezoo predict VIDEO`)" if folder.is_file() else " (it does not exist)"))
        paths = frame_files(folder)
        if len(paths) < 2:
            raise DataError(f"clip folder {folder} holds {len(paths)} image file(s); a clip needs at least two "
                            f"frames ({', '.join(IMAGE_SUFFIXES)}), onset first")
        return [str(p) for p in paths], [read_image(p, "frame") for p in paths]
    frames = list(frames)
    if len(frames) < 2:
        raise DataError(f"a clip needs at least two frames (onset first, offset last); got {len(frames)}")
    names = [image_name(f, f"frame {i}") for i, f in enumerate(frames)]
    return names, [read_image(f, n) for f, n in zip(frames, names)]


def frame_files(folder: Path) -> list[Path]:
    """A clip folder's images in frame order: by the number ending their names when all have one
    (``img2`` before ``img10``), else by name."""
    try:
        files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    except OSError as exc:
        raise DataError(f"clip folder {folder} cannot be read ({exc.strerror or exc})") from None
    if files and all(frame_number(p) is not None for p in files):
        return sorted(files, key=lambda p: (frame_number(p), p.name))
    return sorted(files)


class FrameList:
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
