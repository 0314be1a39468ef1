"""Derive mezoo's canonical 68-point face template from real faces (run once; prints the numbers).

The template in ``mezoo/face/template.py`` is the generalized Procrustes mean of dlib 68-point
fits over the frontal faces in photos that Python packages ship:

- scikit-image: ``astronaut.png`` (installed with the test extra);
- matplotlib: ``sample_data/grace_hopper.jpg``;
- insightface 2.1 source release: ``insightface/data/images/t1.jpg`` (a group photo);
- face_recognition 1.3.0 source release: ``tests/test_images/*`` (portraits).

The two source releases are fetched with ``pip download`` into a temporary folder (they are
never installed, and nothing is downloaded at run time). A face counts as frontal when the nose
tip is about equally far from both ends of the jaw line (|asymmetry| <= 0.1, see
:func:`asymmetry`); each one is used with its mirror image (left and right landmarks swapped),
so the mean is left-right symmetric and its eye line level. Shapes are aligned by similarity
transforms on the stable points (:data:`mezoo.face.calibration.STABLE_POINTS`), as calibration
aligns them.

Run: ``python scripts/derive_template.py`` (needs dlib's model: ``pip install 'mezoo[face]'``).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mezoo.face.calibration import STABLE_POINTS, similarity_fit
from mezoo.face.landmarks import find_predictor
from mezoo.face.template import MIRROR_68

RELEASES = ("insightface==2.1", "face_recognition==1.3.0")
MEMBERS = ("insightface/data/images/t1.jpg", "tests/test_images/")
MAX_ASYMMETRY = 0.1


def photos(folder: Path) -> dict[str, np.ndarray]:
    """Name -> RGB image of every photo listed in the module docstring."""
    import matplotlib
    from skimage import data

    def rgb(path: Path) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)

    found = {"skimage astronaut.png": data.astronaut(),
             "matplotlib grace_hopper.jpg": rgb(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")}
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "-q", "-d", str(folder),
                    *RELEASES], check=True)
    for archive in sorted(folder.glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and any(m in member.name for m in MEMBERS) and member.name.endswith((".jpg", ".png")):
                    tar.extract(member, folder, filter="data")
                    found[f"{archive.name} {member.name.split('/', 1)[1]}"] = rgb(folder / member.name)
    return found


def asymmetry(landmarks: np.ndarray) -> float:
    """(left - right) / (left + right) of the nose tip's distances to the two jaw ends: 0 for a
    frontal face, about +-0.3 for a head turned by a quarter."""
    left, right = (float(np.linalg.norm(landmarks[30] - landmarks[i])) for i in (0, 16))
    return (left - right) / (left + right)


def mirror(shape: np.ndarray) -> np.ndarray:
    """The shape of the mirrored face: x negated, left and right landmarks swapped."""
    return (shape * [-1.0, 1.0])[list(MIRROR_68)]


def procrustes_mean(shapes: list[np.ndarray], iterations: int = 50) -> np.ndarray:
    """Generalized Procrustes mean: align every shape to the mean (similarity on the stable
    points), average, normalise the mean (eye centres 1 apart, level, midpoint at 0), repeat."""
    stable = list(STABLE_POINTS)
    mean = normalise(shapes[0])
    for _ in range(iterations):
        aligned = [apply(similarity_fit(s[stable], mean[stable]), s) for s in shapes]
        new = normalise(np.mean(aligned, axis=0))
        done = np.abs(new - mean).max() < 1e-10
        mean = new
        if done:
            break
    return normalise((mean + mirror(mean)) / 2)


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def normalise(shape: np.ndarray) -> np.ndarray:
    left, right = shape[36:42].mean(0), shape[42:48].mean(0)
    d = right - left
    angle = np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    return (shape - (left + right) / 2) @ rot.T / np.linalg.norm(d)


def main() -> None:
    import dlib

    detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(str(find_predictor()))
    shapes, used = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, image in photos(Path(tmp)).items():
            for rect in detector(image, 1):
                lm = np.array([(p.x, p.y) for p in predictor(image, rect).parts()], dtype=np.float64)
                a = asymmetry(lm)
                print(f"{name}: face {rect.width()} px at ({rect.left()}, {rect.top()}), asymmetry {a:+.3f}"
                      f"{'' if abs(a) <= MAX_ASYMMETRY else ' (not frontal: left out)'}", file=sys.stderr)
                if abs(a) <= MAX_ASYMMETRY:
                    shapes += [lm, mirror(lm)]
                    used.append(name)
    mean = procrustes_mean(shapes)
    # The template's frame: brow top (highest of 17-26) at y = 0, chin (8) at y = 1, midline x = 0.5.
    top, chin = mean[17:27, 1].min(), mean[8, 1]
    template = (mean - [0.0, top]) / (chin - top) + [0.5, 0.0]
    print(f"# {len(used)} frontal faces ({len(shapes)} shapes with mirrors): {', '.join(used)}", file=sys.stderr)
    eyes = mean[42:48].mean(0) - mean[36:42].mean(0)
    mouth = (mean[48] + mean[54]) / 2 - (mean[36:42].mean(0) + mean[42:48].mean(0)) / 2
    print(f"# per IOD: mouth width {np.linalg.norm(mean[54] - mean[48]):.3f}, eyes-to-mouth {mouth[1]:.3f}, "
          f"eye level {eyes[1]:+.2e}, brows-to-chin {chin - top:.3f}, jaw 0-16 {mean[16, 0] - mean[0, 0]:.3f}",
          file=sys.stderr)
    print("[")
    for row in range(0, 68, 4):
        print("    " + " ".join(f"({x:.4f}, {y:.4f})," for x, y in template[row:row + 4]))
    print("]")


if __name__ == "__main__":
    main()
