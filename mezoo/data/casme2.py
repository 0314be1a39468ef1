"""CASME II (Yan et al., 2014), read from the authors' release.

Layout (``--data-root`` is the folder that holds these)::

    CASME2-coding-20140508.xlsx          # any dated version: CASME2-coding-*.xlsx (newest used)
    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...    # raw frames (also CASME2_RAW, CASME2-RAW)
    Cropped/sub01/EP02_01f/reg_img46.jpg ...            # or the authors' face crops

Coding-file columns used: ``Subject``, ``Filename``, ``OnsetFrame``, ``ApexFrame``,
``OffsetFrame``, ``Estimated Emotion`` (``Action Units`` is not needed). Frame numbers are the
numbers in the frame file names. A few rows have no apex (``/``): mezoo uses the middle frame
between onset and offset for them and says how many in a warning.

Class settings (``dataset.casme2.classes``):

- ``5`` (default): happiness, disgust, repression, surprise, others (ELRCN's setting; the 2
  fear and 7 sadness clips are dropped).
- ``4``: positive (happiness), negative (disgust, repression, fear, sadness), surprise, others
  (STRCN-A's setting; mezoo's reading of "negative" as every negative emotion).
- ``3``: the MEGC2019 classes: negative (disgust, repression), positive (happiness), surprise;
  fear and sadness are dropped as in the challenge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from mezoo.data.native import NativeDataset, frame_folders, pick_frames_root, read_table
from mezoo.data.sample import Sample

COLUMNS = {
    "subject": ("Subject",),
    "filename": ("Filename", "File name"),
    "onset": ("OnsetFrame", "Onset Frame", "Onset"),
    "apex": ("ApexFrame", "Apex Frame", "Apex"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion"),
}

FRAME_FOLDERS = {
    "raw": ("CASME2_RAW_selected", "CASME2_RAW", "CASME2-RAW", "CASME2_RAW_selected/CASME2_RAW_selected"),
    "cropped": ("Cropped", "CASME2_Cropped", "Cropped/Cropped"),
}


class CASME2(NativeDataset):
    name = "casme2"
    default_classes = "5"
    class_maps = {
        "5": {"happiness": "happiness", "disgust": "disgust", "repression": "repression",
              "surprise": "surprise", "others": "others"},
        "4": {"happiness": "positive", "disgust": "negative", "repression": "negative", "fear": "negative",
              "sadness": "negative", "surprise": "surprise", "others": "others"},
        "3": {"disgust": "negative", "repression": "negative", "happiness": "positive", "surprise": "surprise"},
    }

    def __init__(self, root: str | Path | None = None, classes: str | int | None = None,
                 exclude: Sequence[str] = (), coding_file: str | Path | None = None, frames: str = "auto"):
        super().__init__(root, classes, exclude)
        self.coding_file = None if coding_file is None else Path(coding_file)
        self.frames = frames

    def find_coding_file(self) -> Path:
        found = self.find_files(self.coding_file, "coding_file", ["CASME2-coding-*.xlsx"], "coding spreadsheet")
        # Dated versions (CASME2-coding-20140508.xlsx, ...): the newest date sorts last.
        newest = max(found, key=lambda p: (re.findall(r"\d{6,8}", p.stem) or [""])[-1])
        if len(found) > 1:
            self.note(f"{len(found)} coding files found; using the newest, {newest.name}")
        return newest

    def read(self) -> list[Sample]:
        coding = self.find_coding_file()
        candidates, allow_root = frame_folders(FRAME_FOLDERS, self.frames)
        frames_root = pick_frames_root(self.require_root(), candidates, re.compile(r"sub\d+"), "casme2", allow_root)
        return self.coded_clips(read_table(coding, COLUMNS, "casme2"), coding, frames_root,
                                lambda s: s if s.lower().startswith("sub") else f"sub{int(s):02d}")

