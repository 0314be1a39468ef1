"""SMIC-HS (Li et al., 2013), read from the authors' release.

Layout (``--data-root`` is the folder that holds these)::

    HS/s1/micro/negative/s1_ne_01/image106597.bmp ...   # or SMIC_all_raw/HS/...
    SMIC_all_cropped/HS/s1/micro/...                    # the authors' face crops (reg_image*.bmp)

Each clip folder runs from onset to offset; the emotion is its folder (negative, positive,
surprise). The release annotates no apex, so it comes from, in order:

1. ``dataset.smic.apex_file``: a spreadsheet or CSV with one row per clip (columns such as
   ``subject``, ``clip`` / ``filename``, ``apex_frame``; ``onset_frame`` and ``offset_frame`` are
   used too when present). Its frame numbers are those in the file names (``apex_numbers: file``,
   the default) or 1-based positions in the clip (``apex_numbers: position``).
2. The apex spotter ``dataset.smic.apex`` (registered through ``register_apex_spotters``):
   ``middle`` (default: the middle frame, SPEC section 3) or ``max_difference``.

Clips missing from the apex file fall back to the spotter, with a warning that counts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mezoo.data.native import (
    NativeDataset, as_int, as_text, frame_folders, list_frames, pick_frames_root, read_table,
)
from mezoo.data.sample import Sample
from mezoo.errors import DataError

EMOTIONS = ("negative", "positive", "surprise")
FRAME_FOLDERS = {"raw": ("HS", "SMIC_all_raw/HS", "SMIC-HS", "SMIC_HS"),
                 "cropped": ("SMIC_all_cropped/HS", "cropped/HS", "HS_cropped")}
APEX_COLUMNS = {
    "clip": ("clip", "filename", "file name", "video", "sample", "episode"),
    "apex": ("apex_frame", "apex frame", "apexframe", "apex"),
}
OPTIONAL_COLUMNS = {"onset": ("onset_frame", "onset frame", "onsetframe", "onset"),
                    "offset": ("offset_frame", "offset frame", "offsetframe", "offset")}


class SMIC(NativeDataset):
    name = "smic"
    default_classes = "3"
    class_maps = {"3": {e: e for e in EMOTIONS}}

    def __init__(self, root: str | Path | None = None, classes: str | int | None = None,
                 exclude: Sequence[str] = (), apex: str = "middle", apex_file: str | Path | None = None,
                 apex_numbers: str = "file", frames: str = "auto"):
        super().__init__(root, classes, exclude)
        if apex_numbers not in ("file", "position"):
            raise DataError(f"smic: apex_numbers must be file or position, not {apex_numbers!r}")
        self.apex, self.apex_numbers, self.frames = apex, apex_numbers, frames
        self.apex_file = None if apex_file is None else Path(apex_file)

    def read(self) -> list[Sample]:
        from mezoo import plugins

        spotter = plugins.get("apex_spotter", self.apex)
        root = self.require_root()
        candidates, allow_root = frame_folders(FRAME_FOLDERS, self.frames)
        hs = pick_frames_root(root, candidates, re.compile(r"s\d+"), "smic", allow_root)
        annotated = self._apex_table(root)
        samples, spotted, clips = [], [], 0
        subjects = sorted((p for p in hs.iterdir() if re.fullmatch(r"s\d+", p.name)), key=lambda p: int(p.name[1:]))
        for subject_dir in subjects:
            micro = subject_dir / "micro"
            if not micro.is_dir():
                raise DataError(f"smic: subject folder {subject_dir} has no micro/ folder; is this SMIC-HS?")
            for emotion in EMOTIONS:
                for clip_dir in sorted((micro / emotion).glob("*")) if (micro / emotion).is_dir() else ():
                    if not clip_dir.is_dir():
                        continue
                    clips += 1
                    row = annotated.get(clip_dir.name.lower())
                    sample = self._sample(clip_dir, subject_dir.name, emotion, row)
                    if sample is None:
                        continue
                    if row is None:
                        sample = replace(sample, apex=int(spotter(sample)))
                        spotted.append(sample.episode)
                    samples.append(sample)
        if not clips:
            raise DataError(f"smic: no clips under {hs}/s*/micro/{{negative,positive,surprise}}/")
        if self.apex_file is not None and spotted:
            self.note(f"{len(spotted)} clip(s) are not in {self.apex_file.name} ({', '.join(spotted[:5])}); "
                      f"their apex comes from the {self.apex!r} spotter")
        return samples

    def _sample(self, clip_dir: Path, subject: str, emotion: str, row: dict | None) -> Sample | None:
        if row is None:
            return self.clip(clip_dir, subject, clip_dir.name, emotion, None, None, None, clip_dir)
        onset, apex, offset = (as_int(row.get(k)) for k in ("onset", "apex", "offset"))
        if self.apex_numbers == "position":
            _, numbers = list_frames(clip_dir)
            for value in (onset, apex, offset):
                if value is not None and not 1 <= value <= len(numbers):
                    raise DataError(f"sample smic/{subject}/{clip_dir.name}: frame position {value} in "
                                    f"{self.apex_file} is outside its {len(numbers)} frames")
            onset, apex, offset = (None if v is None else numbers[v - 1] for v in (onset, apex, offset))
        return self.clip(clip_dir, subject, clip_dir.name, emotion, onset, apex, offset, self.apex_file or clip_dir)

    def _apex_table(self, root: Path) -> dict[str, dict]:
        if self.apex_file is None:
            return {}
        path = self.apex_file if self.apex_file.is_absolute() else root / self.apex_file
        if not path.is_file():
            raise DataError(f"smic: the apex file {path} does not exist; fix {self.settings}.apex_file (a path "
                            f"relative to the data root {root}, or absolute), or set it to null to spot apexes "
                            f"with {self.settings}.apex")
        rows = read_table(path, APEX_COLUMNS, "smic", optional=OPTIONAL_COLUMNS)
        self.apex_file = path
        # without onset/offset columns a clip runs from its first frame to its last
        return {as_text(r["clip"]).lower(): r for r in rows if as_text(r["clip"])}
