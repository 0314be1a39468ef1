"""SAMM (Davison et al., 2018), read from the authors' release.

Layout (``--data-root`` is the folder that holds these)::

    SAMM_Micro_FACS_Codes_v2.xlsx        # any SAMM_Micro_FACS_Codes*.xlsx
    SAMM/006/006_1_2/006_05562.jpg ...   # frames; the subject folders may also sit in the root
                                         # itself, or in SAMM_CROP / SAMM_cropped for face crops

The spreadsheet carries preamble rows (title, licence, notes) above its header; mezoo finds the
header row instead of assuming its position. Columns used: ``Subject``, ``Filename``,
``Onset Frame``, ``Apex Frame``, ``Offset Frame``, ``Estimated Emotion``. Frame numbers are the
numbers in the file names. A clip coded without an apex (``-1`` or empty) gets the middle frame,
with a warning that counts them.

Class settings (``dataset.samm.classes``):

- ``5`` (default): anger, contempt, happiness, surprise, other (the common SAMM 5-class setting).
- ``3``: the MEGC2019 classes: negative (anger, contempt, disgust, fear, sadness), positive
  (happiness), surprise.
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
    "onset": ("Onset Frame", "OnsetFrame", "Onset"),
    "apex": ("Apex Frame", "ApexFrame", "Apex"),
    "offset": ("Offset Frame", "OffsetFrame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion"),
}

FRAME_FOLDERS = {"raw": ("SAMM", "SAMM/SAMM"), "cropped": ("SAMM_CROP", "SAMM_cropped", "SAMM_Cropped", "cropped")}


class SAMM(NativeDataset):
    name = "samm"
    default_classes = "5"
    class_maps = {
        "5": {"anger": "anger", "contempt": "contempt", "happiness": "happiness", "surprise": "surprise",
              "other": "other"},
        "3": {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
              "sadness": "negative", "happiness": "positive", "surprise": "surprise"},
    }

    def __init__(self, root: str | Path | None = None, classes: str | int | None = None,
                 exclude: Sequence[str] = (), spreadsheet: str | Path | None = None, frames: str = "auto"):
        super().__init__(root, classes, exclude)
        self.spreadsheet = None if spreadsheet is None else Path(spreadsheet)
        self.frames = frames

    def find_spreadsheet(self) -> Path:
        return self.find_files(self.spreadsheet, "spreadsheet", ["SAMM_Micro_FACS_Codes*.xlsx"],
                               "FACS coding spreadsheet")[-1]

    def read(self) -> list[Sample]:
        sheet = self.find_spreadsheet()
        candidates, allow_root = frame_folders(FRAME_FOLDERS, self.frames)
        frames_root = pick_frames_root(self.require_root(), candidates, re.compile(r"\d{3}"), "samm", allow_root)
        return self.coded_clips(read_table(sheet, COLUMNS, "samm"), sheet, frames_root, lambda s: s.zfill(3))
