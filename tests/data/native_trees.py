"""Dataset folders in each dataset's native layout, generated for the tests.

Spreadsheets are written with openpyxl in the column layout the authors ship (SAMM with its
preamble rows above the header); frames are small images named as in each release. Nothing
here is real data: clips are a few frames of noise (or a given image, for the face pipeline).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from openpyxl import Workbook

Frame = Callable[[int], np.ndarray]  # frame number -> (H, W, 3) uint8 RGB


def noise_frame(size: int = 16) -> Frame:
    def make(number: int) -> np.ndarray:
        return np.random.default_rng(number).integers(0, 255, (size, size, 3), dtype=np.uint8)

    return make


def write_frames(folder: Path, numbers: Sequence[int], name: Callable[[int], str], frame: Frame | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame or noise_frame()
    for n in numbers:
        assert cv2.imwrite(str(folder / name(n)), cv2.cvtColor(frame(n), cv2.COLOR_RGB2BGR))


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence], preamble: Sequence[Sequence] = ()) -> Path:
    book = Workbook()
    sheet = book.active
    for row in [*preamble, header, *rows]:
        sheet.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


# (subject, episode, onset, apex, offset, emotion); apex may be "/" as in the real coding file.
CASME2_ROWS = [
    (1, "EP02_01f", 46, 59, 86, "happiness"),
    (1, "EP03_02", 131, 139, 161, "others"),
    (1, "EP19_05f", 101, 118, 131, "disgust"),
    (2, "EP08_04", 21, "/", 41, "repression"),
    (2, "EP11_01", 1, 11, 24, "surprise"),
    (3, "EP01_12", 30, 36, 50, "fear"),
    (3, "EP06_01f", 71, 80, 91, "disgust"),
    (4, "EP15_01", 11, 20, 26, "sadness"),
]
CASME2_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]


def casme2_tree(root: Path, rows=CASME2_ROWS, cropped: bool = False, frame: Frame | None = None,
                coding: str = "CASME2-coding-20140508.xlsx", margin: int = 3) -> Path:
    """``root/CASME2-coding-*.xlsx`` and ``root/CASME2_RAW_selected/subNN/EP.../imgN.jpg`` (or
    ``Cropped/subNN/EP.../reg_imgN.jpg``); each clip runs ``margin`` frames beyond onset and offset."""
    write_xlsx(root / coding, CASME2_HEADER, [(s, e, on, ap, off, "AU12", emo) for s, e, on, ap, off, emo in rows])
    base = root / ("Cropped" if cropped else "CASME2_RAW_selected")
    for s, e, on, _, off, _ in rows:
        write_frames(base / f"sub{s:02d}" / e, range(max(on - margin, 1), off + margin + 1),
                     (lambda n: f"reg_img{n}.jpg") if cropped else (lambda n: f"img{n}.jpg"), frame)
    return root


# (subject, filename, onset, apex, offset, emotion)
SAMM_ROWS = [
    ("006", "006_1_2", 5562, 5588, 5604, "Anger"),
    ("006", "006_1_3", 3912, 3948, 3988, "Happiness"),
    ("007", "007_3_1", 4811, 4861, 4884, "Contempt"),
    ("007", "007_5_2", 101, -1, 130, "Surprise"),
    ("011", "011_2_1", 2301, 2320, 2345, "Other"),
    ("011", "011_4_2", 601, 610, 640, "Disgust"),
]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Type", "Action Units", "Notes", "Estimated Emotion"]
SAMM_PREAMBLE = [["SAMM Micro-Expression Database"], ["FACS coding"], [], ["Notes: frame numbers refer to file names"]]


def samm_tree(root: Path, rows=SAMM_ROWS, preamble: bool = True, int_subjects: bool = False) -> Path:
    """``root/SAMM_Micro_FACS_Codes_v2.xlsx`` (preamble rows above the header) and
    ``root/SAMM/006/006_1_2/006_05562.jpg``."""
    write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", SAMM_HEADER,
               [(int(s) if int_subjects else s, f, 1, on, ap, off, off - on, "Micro - 1/2", "AU4", "", emo)
                for s, f, on, ap, off, emo in rows], SAMM_PREAMBLE if preamble else ())
    for s, f, on, _, off, _ in rows:
        write_frames(root / "SAMM" / s / f, range(on - 2, off + 3), lambda n, s=s: f"{s}_{n:05d}.jpg")
    return root


# (subject, emotion, clip, first frame number, frames)
SMIC_CLIPS = [
    ("s1", "negative", "s1_ne_01", 106597, 11),
    ("s1", "positive", "s1_po_01", 200010, 9),
    ("s2", "surprise", "s2_sur_01", 5001, 7),
    ("s2", "negative", "s2_ne_03", 9001, 13),
    ("s11", "positive", "s11_po_02", 77, 5),
]


def smic_tree(root: Path, clips=SMIC_CLIPS, frame: Frame | None = None) -> Path:
    """``root/HS/s1/micro/negative/s1_ne_01/image106597.bmp`` ..."""
    for subject, emotion, clip, first, n in clips:
        write_frames(root / "HS" / subject / "micro" / emotion / clip, range(first, first + n),
                     lambda k: f"image{k}.bmp", frame)
    return root


# (subject, video, onset, apex, offset, emotion)
CASME3_ROWS = [
    ("spNO.1", "a", 20, 25, 31, "happy"),
    ("spNO.1", "a", 60, 66, 70, "disgust"),
    ("spNO.1", "b", 5, 9, 14, "others"),
    ("spNO.2", "c", 40, 44, 50, "surprise"),
    ("spNO.2", "d", 11, 14, 22, "fear"),
]
CASME3_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def casme3_tree(root: Path, rows=CASME3_ROWS) -> Path:
    """``root/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` and
    ``root/part_A/data/part_A/spNO.1/a/color/N.jpg`` (whole videos: frames 1-80)."""
    write_xlsx(root / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", CASME3_HEADER,
               [(s, v, on, ap, off, "12", 1, emo) for s, v, on, ap, off, emo in rows])
    for s, v in {(r[0], r[1]) for r in rows}:
        write_frames(root / "part_A" / "data" / "part_A" / s / v / "color", range(1, 81), lambda n: f"{n}.jpg")
    return root
