"""CAS(ME)^3 Part A (Li et al., TPAMI 2022): the labelled micro-expressions, colour frames.

Layout (``--data-root`` is the folder that holds these)::

    annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   # any *part_A_ME_label*.xlsx, here or in annotation/
    part_A/data/part_A/spNO.1/a/color/1.jpg ...            # the subject folders may also sit in
                                                           # data/part_A, part_A or the root

Columns used: ``Subject`` (``spNO.1``), ``Filename`` (the task video, ``a`` ... ``m``),
``Onset``, ``Apex``, ``Offset`` (numbers of the colour JPEGs, hence "JpgIndex"), ``emotion``.
A video's folder holds the whole recording, so each sample keeps only its onset-to-offset frames;
a video holds several MEs, so a sample's episode is the video and its onset (``spNO.1/a_20``).
The depth frames are not used.

Class settings (``dataset.casme3.classes``):

- ``3`` (default): negative (disgust, fear, anger, sad), positive (happy), surprise.
- ``4``: the same plus others.
- ``7``: the raw emotions: happy, disgust, fear, anger, sad, surprise, others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from mezoo.data.native import NativeDataset, as_int, as_text, list_frames, pick_frames_root, read_table
from mezoo.data.sample import Sample, exclude_hint
from mezoo.errors import DataError

COLUMNS = {
    "subject": ("Subject",),
    "filename": ("Filename", "File name", "video"),
    "onset": ("Onset", "Onset Frame", "OnsetFrame"),
    "apex": ("Apex", "Apex Frame", "ApexFrame"),
    "offset": ("Offset", "Offset Frame", "OffsetFrame"),
    "emotion": ("emotion", "Estimated Emotion"),
}
FRAME_FOLDERS = ("part_A/data/part_A", "data/part_A", "part_A", "Part_A", "data")
_NEGATIVE = ("disgust", "fear", "anger", "sad")


class CASME3(NativeDataset):
    name = "casme3"
    default_classes = "3"
    class_maps = {
        "3": {**{e: "negative" for e in _NEGATIVE}, "happy": "positive", "surprise": "surprise"},
        "4": {**{e: "negative" for e in _NEGATIVE}, "happy": "positive", "surprise": "surprise", "others": "others"},
        "7": {e: e for e in ("happy", "disgust", "fear", "anger", "sad", "surprise", "others")},
    }

    def __init__(self, root: str | Path | None = None, classes: str | int | None = None,
                 exclude: Sequence[str] = (), annotation: str | Path | None = None):
        super().__init__(root, classes, exclude)
        self.annotation = None if annotation is None else Path(annotation)

    def find_annotation(self) -> Path:
        return self.find_files(self.annotation, "annotation", ["*part_A_ME_label*.xlsx"], "Part A ME label spreadsheet")[-1]

    def read(self) -> list[Sample]:
        sheet = self.find_annotation()
        frames_root = pick_frames_root(self.require_root(), FRAME_FOLDERS, re.compile(r"spNO\.\d+"), "casme3")
        listings: dict[Path, tuple[list[Path], list[int]]] = {}
        samples, unknown_offset = [], []
        for row in read_table(sheet, COLUMNS, "casme3"):
            subject, video = as_text(row["subject"]), as_text(row["filename"])
            if not subject:
                continue
            onset, apex, offset = as_int(row["onset"]), as_int(row["apex"]), as_int(row["offset"])
            episode = f"{video}_{onset}"  # a video holds several MEs; its onset tells them apart
            if onset is None:
                raise DataError(f"sample casme3/{subject}/{episode}: onset {row['onset']!r} in {sheet} is not a "
                                f"frame number; fix the row or exclude the sample with "
                                f"{exclude_hint(self.settings, subject, episode)}")
            if offset == 0:  # the real sheet has two such rows: unknown, so the clip ends at its apex
                offset = apex
                unknown_offset.append(f"{subject}/{episode}")
            folder = frames_root / subject / video
            if (folder / "color").is_dir():
                folder = folder / "color"
            if folder not in listings and folder.is_dir():
                listings[folder] = list_frames(folder)
            sample = self.clip(folder, subject, episode, as_text(row["emotion"]).lower(), onset, apex, offset, sheet,
                               trim=True, listing=listings.get(folder))
            if sample is not None:
                samples.append(sample)
        if unknown_offset:
            self.note(f"{len(unknown_offset)} row(s) of {sheet.name} have Offset 0, i.e. unknown "
                      f"({', '.join(unknown_offset[:5])}{', ...' if len(unknown_offset) > 5 else ''}); "
                      f"their clips end at the apex")
        return samples
