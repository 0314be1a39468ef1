"""What the real dataset loaders share: spreadsheets, frame folders, frame numbers, label maps.

The loaders read each dataset as its authors ship it (SPEC section 3); these helpers turn the
common ways that goes wrong (a renamed column, preamble rows above the header, a missing frame)
into one :class:`~mezoo.errors.DataError` that names the dataset, the file and what to do.
"""

from __future__ import annotations

import csv
import re
import warnings
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from mezoo.data.sample import Dataset, Sample, exclude_hint
from mezoo.errors import DataError

#: Image files a frame folder may hold.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

_NUMBER = re.compile(r"(\d+)$")


class DatasetWarning(UserWarning):
    """Something in a dataset differs from what the protocol expects, but loading can go on."""


def normalize_column(name: Any) -> str:
    """``"Onset Frame"``, ``"onset_frame"``, ``"OnsetFrame "`` -> ``"onsetframe"``."""
    return re.sub(r"[^a-z0-9]", "", str(name or "").lower())


def _find_columns(names: Sequence[str], aliases: Mapping[str, set[str]]) -> dict[str, int]:
    """Each key's column: the first of ``names`` (normalised header cells) among its aliases."""
    where = {}
    for key, wanted in aliases.items():
        hits = [i for i, n in enumerate(names) if n in wanted]
        if hits:
            where[key] = hits[0]
    return where


def read_table(path: Path, columns: Mapping[str, Sequence[str]], dataset: str,
               max_header_row: int = 40, optional: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """The rows of a spreadsheet (``.xlsx``) or ``.csv`` file as dicts keyed by ``columns``' keys.

    The header row is found, not assumed: the first row (of the first sheet that has one) that
    holds a name for every wanted column, so preamble rows above it (SAMM) are skipped.
    Column names match without regard to case, spaces or punctuation, and each wanted column may
    go by several names (``columns = {"onset": ("OnsetFrame", "Onset Frame", "Onset")}``).
    Rows whose cells are all empty are dropped. ``optional`` columns are read when the header
    row has them; rows of a table without them hold ``None`` there.

    Raises:
        DataError: the file is missing or unreadable, or no row holds all wanted columns.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{dataset}: spreadsheet {path} does not exist; check the data root")
    sheets = _read_sheets(path, dataset)
    wanted = {key: {normalize_column(a) for a in aliases} for key, aliases in columns.items()}
    seen: list[str] = []
    best: tuple[int, str, list[str]] = (0, "", list(wanted))
    for sheet_name, rows in sheets:
        for r, row in enumerate(rows[:max_header_row]):
            names = [normalize_column(c) for c in row]
            where = _find_columns(names, wanted)
            if len(where) > best[0]:
                best = (len(where), f"{sheet_name} row {r + 1}", [k for k in wanted if k not in where])
            if len(where) == len(wanted):
                where.update(_find_columns(names, {key: {normalize_column(a) for a in aliases}
                                                   for key, aliases in (optional or {}).items()}))
                out = []
                for values in rows[r + 1:]:
                    if all(v is None or str(v).strip() == "" for v in values):
                        continue
                    row = {key: None for key in optional or {}}
                    row.update({key: (values[i] if i < len(values) else None) for key, i in where.items()})
                    out.append(row)
                return out
            if any(n for n in names) and len(seen) < 3:
                seen.append(f"{sheet_name} row {r + 1}: {[c for c in row if c not in (None, '')][:12]}")
    missing = "; ".join(f"{key} (one of {', '.join(map(repr, columns[key]))})" for key in best[2])
    where = f"the closest, {best[1]}, lacks" if best[0] else "missing"
    found = "\n  ".join(seen) or "no non-empty rows"
    raise DataError(
        f"{dataset}: no header row in {path} has all the columns mezoo needs ({where}: {missing}). "
        f"First rows found:\n  {found}\nIs this the dataset's own annotation file?"
    )


def _read_sheets(path: Path, dataset: str) -> list[tuple[str, list[list[Any]]]]:
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as f:
                return [(path.name, [list(r) for r in csv.reader(f)])]
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            return [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in book.worksheets]
        finally:
            book.close()
    except DataError:
        raise
    except Exception as e:  # openpyxl raises many types for a damaged file
        raise DataError(f"{dataset}: cannot read spreadsheet {path}: {e}; is it a valid .xlsx or .csv file?") from e


def frame_number(path: Path) -> int | None:
    """The number at the end of a frame's file name: ``img46.jpg`` -> 46, ``006_05562.jpg`` -> 5562."""
    m = _NUMBER.search(Path(path).stem)
    return int(m.group(1)) if m else None


def list_frames(folder: Path) -> tuple[list[Path], list[int]]:
    """The image files of a clip folder in frame-number order, and their numbers.

    Files without a number in their name are ignored (thumbnails, ``Thumbs.db``).
    """
    frames = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError as e:  # PermissionError, a broken mount, ...
        raise DataError(f"frame folder {folder} cannot be read ({e.strerror or e}); make it readable "
                        f"(check its permissions) or exclude its clips") from e
    for p in entries:
        if p.suffix.lower() in IMAGE_SUFFIXES:
            n = frame_number(p)
            if n is not None:
                frames.append((n, p))
    frames.sort()
    return [p for _, p in frames], [n for n, _ in frames]


def as_int(value: Any) -> int | None:
    """A spreadsheet cell as a frame number; ``None`` for empty, ``"/"``, ``"-"`` or ``-1`` cells."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if value != value or value < 0 else int(value)
    if isinstance(value, int):
        return None if value < 0 else value
    text = str(value).strip()
    try:
        number = int(float(text))
    except ValueError:
        return None
    return None if number < 0 else number


def as_text(value: Any) -> str:
    """A cell as stripped text; whole floats lose their ``.0`` (``6.0`` -> ``"6"``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def find_subfolder(root: Path, names: Iterable[str], dataset: str, what: str) -> Path:
    """The first of ``names`` (matched without case, spaces or punctuation) inside ``root``.

    Raises:
        DataError: none is there; the message lists what ``root`` holds.
    """
    if not root.is_dir():
        raise DataError(f"{dataset}: data root {root} is not a folder; pass --data-root or set dataset.root")
    wanted = [normalize_column(n) for n in names]
    children = {normalize_column(p.name): p for p in sorted(root.iterdir()) if p.is_dir()}
    for name in wanted:
        if name in children:
            return children[name]
    have = ", ".join(sorted(p.name for p in root.iterdir())[:20]) or "nothing"
    raise DataError(f"{dataset}: no {what} folder in {root} (looked for {', '.join(names)}); it holds: {have}")


#: What every real dataset changes in the defaults: the DGM starts from the ``faces`` weights
#: (pre-trained by ``scripts/pretrain_dgm.py`` on real faces that installed packages ship, moved by
#: known motion: the ``photo_motion`` dataset) in their architecture, and, with ``finetune_lr`` 0,
#: is computed once per clip and cached like an optical flow. ``--set displacement.dgm.weights=null``
#: trains it from scratch as the paper does (add ``width=16``, ``scale=1.0`` for the paper's size).
REAL_FACE_DEFAULTS: dict[str, Any] = {
    "displacement": {"dgm": {"weights": "faces", "width": 8, "levels": 3, "scale": 0.5}},
}


class NativeDataset(Dataset):
    """Base class of loaders for datasets on disk in their authors' layout.

    Options every real dataset takes:

    - ``root``: the dataset's folder (``--data-root`` or ``dataset.root``).
    - ``classes``: which class setting to map the raw emotions to (each dataset lists its own).
    - ``exclude``: sample keys ``subject/episode`` to leave out (for example a clip with no face).

    Subclasses implement :meth:`read` (every annotated clip, with its raw ``emotion``) and set
    ``class_maps``: class setting -> {raw emotion (lower case) -> class}; emotions absent from the
    map are dropped.
    """

    name: ClassVar[str] = ""
    config_defaults: ClassVar[dict[str, Any]] = REAL_FACE_DEFAULTS
    class_maps: ClassVar[dict[str, dict[str, str]]] = {}
    default_classes: ClassVar[str] = ""

    def __init__(self, root: str | Path | None = None, classes: str | int | None = None,
                 exclude: Sequence[str] = ()):
        super().__init__(root)
        setting = str(classes if classes is not None else self.default_classes)
        if setting not in self.class_maps:
            raise DataError(f"{self.name}: unknown class setting {setting!r}; expected one of: "
                            f"{', '.join(self.class_maps)}")
        self.setting = setting
        self.class_map = self.class_maps[setting]
        self.classes = tuple(dict.fromkeys(self.class_map.values()))
        self.exclude = {str(k).strip("/") for k in (exclude or ())}
        self.notes: list[str] = []  # what loading had to decide (fallbacks), for `mezoo datasets info`
        #: where this dataset's options live in the settings (a composite such as megc2019 moves
        #: its parts under its own section); every error's advice names keys under it
        self.settings = f"dataset.{self.name}"

    def require_root(self) -> Path:
        if self.root is None:
            raise DataError(f"dataset {self.name!r} needs its folder: pass --data-root DIR "
                            f"or set dataset.root (or {self.settings}.root) in the config file")
        if not self.root.is_dir():
            raise DataError(f"{self.name}: data root {self.root} is not a folder; pass --data-root DIR")
        return self.root

    def find_files(self, given: Path | None, option: str, patterns: Sequence[str], what: str) -> list[Path]:
        """``given`` (relative to the root unless absolute), else every file matching one of
        ``patterns`` in the root or one folder down, sorted.

        Raises:
            DataError: ``given`` does not exist, or nothing matches (naming the option to set).
        """
        root = self.require_root()
        if given is not None:
            path = given if given.is_absolute() else root / given
            if not path.is_file():
                raise DataError(f"{self.name}: {what} {path} does not exist; fix {self.settings}.{option} (a path "
                                f"relative to the data root {root}, or absolute)")
            return [path]
        found = sorted({p for pattern in patterns for p in (*root.glob(pattern), *root.glob(f"*/{pattern}"))})
        if not found:
            old = [p for pattern in patterns for p in root.glob(f"**/{pattern[:-1]}") if pattern.endswith(".xlsx")]
            hint = f" (found {old[0]}: save it as .xlsx)" if old else ""
            raise DataError(f"{self.name}: no {' or '.join(patterns)} in {root}{hint}; "
                            f"set {self.settings}.{option} to the {what}")
        return found

    @abstractmethod
    def read(self) -> list[Sample]:
        """Every annotated clip not excluded, labelled with its raw emotion (``label`` empty)."""

    def coded_clips(self, rows: Iterable[Mapping[str, Any]], source: Path, frames_root: Path,
                    subject_name: Callable[[str], str]) -> list[Sample]:
        """Samples from the rows of a coding spreadsheet with ``subject``, ``filename``, ``onset``,
        ``apex``, ``offset`` and ``emotion`` (CASME II, SAMM); frames in
        ``frames_root/<subject>/<filename>``.

        Rows without a subject are skipped. An apex that is not a frame number (CASME II's "/",
        SAMM's -1) becomes the middle frame between onset and offset, counted in one warning; an
        offset of 0 (some CASME II rows) means unknown: the clip's last frame.
        """
        samples, no_apex = [], []
        for row in rows:
            subject_text = as_text(row["subject"])
            if not subject_text:
                continue
            subject, episode = subject_name(subject_text), as_text(row["filename"])
            onset, apex, offset = as_int(row["onset"]), as_int(row["apex"]), as_int(row["offset"])
            if onset is None:
                raise DataError(f"sample {self.name}/{subject}/{episode}: onset {row['onset']!r} in {source} is "
                                f"not a frame number; fix the row or exclude the sample with "
                                f"{exclude_hint(self.settings, subject, episode)}")
            sample = self.clip(frames_root / subject / episode, subject, episode, as_text(row["emotion"]), onset,
                               apex, offset or None, source)
            if sample is None:
                continue
            if apex is None:
                no_apex.append(f"{subject}/{episode}")
            samples.append(sample)
        if no_apex:
            self.note(f"{len(no_apex)} clip(s) have no apex in {source.name} ({', '.join(no_apex[:5])}"
                      f"{', ...' if len(no_apex) > 5 else ''}); using the middle frame between onset and offset")
        return samples

    def samples(self) -> list[Sample]:
        out = []
        for s in self.read():
            label = self.class_map.get(s.emotion.lower())
            if label is None:
                continue
            out.append(s if s.label == label else _relabel(s, label))
        return out

    def note(self, message: str) -> None:
        """Record (and warn about) a decision loading had to make."""
        self.notes.append(message)
        warnings.warn(f"{self.name}: {message}", DatasetWarning, stacklevel=3)

    def clip(self, folder: Path, subject: str, episode: str, emotion: str, onset: int | None,
             apex: int | None, offset: int | None, source: Path, trim: bool = False,
             listing: tuple[list[Path], list[int]] | None = None) -> Sample | None:
        """A sample from its frame folder and the annotated frame *numbers* (as in file names).

        ``apex`` may be ``None`` (CASME II's "/", SMIC): the caller has decided its fallback and
        counted it; ``offset`` ``None`` means the last frame; ``onset`` ``None`` the first.
        ``trim`` keeps only the frames from onset to offset (clips annotated inside long videos);
        ``listing`` is the folder's :func:`list_frames`, when the caller already has it.
        Returns ``None`` for a sample listed in ``exclude``.

        Raises:
            DataError: the folder is missing or empty, or an annotated frame has no file.
        """
        key = f"{self.name}/{subject}/{episode}"
        if f"{subject}/{episode}" in self.exclude or key in self.exclude:
            return None  # left out (``exclude``); its frames are not looked at, they may be why
        if not folder.is_dir():
            raise DataError(f"sample {key}: frame folder {folder} does not exist (annotated in {source}); "
                            f"restore it or exclude the sample with {exclude_hint(self.settings, subject, episode)}")
        if onset is not None and apex is not None and onset > apex:
            raise DataError(f"sample {key}: onset frame {onset} comes after apex frame {apex} in {source}; "
                            f"fix the annotation or exclude the sample with {exclude_hint(self.settings, subject, episode)}")
        frames, numbers = listing if listing is not None else list_frames(folder)
        if not frames:
            raise DataError(f"sample {key}: no numbered image files in {folder}; restore them or exclude the sample "
                            f"with {exclude_hint(self.settings, subject, episode)}")
        where = {n: i for i, n in enumerate(numbers)}

        def position(number: int | None, what: str, default: int) -> int:
            if number is None:
                return default
            if number not in where:
                raise DataError(
                    f"sample {key}: {what} frame {number} (from {source}) has no file in {folder}, whose frames "
                    f"are numbered {numbers[0]}-{numbers[-1]}; fix the annotation or exclude the sample with "
                    f"{exclude_hint(self.settings, subject, episode)}"
                )
            return where[number]

        on = position(onset, "onset", 0)
        off = position(offset, "offset", len(frames) - 1)
        ap = position(apex, "apex", (on + off) // 2)
        if on > ap:
            raise DataError(f"sample {key}: onset frame {onset} comes after apex frame {apex} in {source}; "
                            f"fix the annotation or exclude the sample with {exclude_hint(self.settings, subject, episode)}")
        off = max(off, ap)
        gaps = [n for a, b in zip(numbers[on:off], numbers[on + 1:off + 1]) for n in range(a + 1, b)]
        if gaps:
            shown = ", ".join(map(str, gaps[:6])) + (", ..." if len(gaps) > 6 else "")
            self.note(f"sample {key}: {len(gaps)} frame(s) missing between its onset and offset ({shown}) in "
                      f"{folder}; the clip goes on with the next frame that exists (a sequence resampled "
                      f"over the frames there are, a dynamic image over them)")
        if trim:
            frames, ap, off, on = frames[on:off + 1], ap - on, off - on, 0
        return Sample(dataset=self.name, subject=subject, episode=episode, onset=on, apex=ap, offset=off,
                      emotion=emotion, label="", frames=tuple(frames), settings=self.settings)


def _relabel(sample: Sample, label: str) -> Sample:
    from dataclasses import replace

    return replace(sample, label=label)


def frame_folders(choices: Mapping[str, Sequence[str]], prefer: str) -> tuple[list[str], bool]:
    """The candidate frame folders for ``frames: prefer`` (``auto``, a key of ``choices`` such as
    ``raw`` / ``cropped``, or a folder name), and whether the root itself may hold the subjects."""
    if prefer == "auto":
        return [c for folders in choices.values() for c in folders], True
    return list(choices.get(prefer, (prefer,))), False


def pick_frames_root(root: Path, candidates: Sequence[str], looks_like: re.Pattern[str], dataset: str,
                     allow_root: bool = True) -> Path:
    """The folder whose children are subject folders: the first of ``candidates`` (paths relative
    to ``root``) that has any, else ``root`` itself when ``allow_root``.

    Raises:
        DataError: none has subject folders (names matching ``looks_like``).
    """
    def has_subjects(p: Path) -> bool:
        return p.is_dir() and any(looks_like.fullmatch(c.name) for c in p.iterdir() if c.is_dir())

    for name in candidates:
        if has_subjects(root / name):
            return root / name
    if allow_root and has_subjects(root):
        return root
    raise DataError(f"{dataset}: no subject folders (like {looks_like.pattern}) in "
                    f"{' or '.join(str(root / c) for c in candidates[:4])}{' or ' + str(root) if allow_root else ''}; "
                    f"point --data-root at the dataset's folder")
