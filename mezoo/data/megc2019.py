"""The MEGC2019 composite (See et al., 2019): CASME II + SAMM + SMIC-HS in three classes.

Layout: ``--data-root`` holds one folder per part, each in its own native layout (see
:mod:`mezoo.data.casme2`, :mod:`mezoo.data.samm`, :mod:`mezoo.data.smic`)::

    DATA_ROOT/CASME2/...   (also "CASME II", CASME_II)
    DATA_ROOT/SAMM/...
    DATA_ROOT/SMIC/...     (also SMIC-HS)

or give each part's folder: ``--set dataset.megc2019.casme2.root=/data/casme2``. Each part also
takes its own options there (``dataset.megc2019.smic.apex_file=...``).

Classes (paper sec. 4.1, as in MEGC2019): negative = {repression, anger, contempt, disgust,
fear, sadness}, positive = {happiness}, surprise = {surprise}; "others" is dropped.

What is left out, explicitly:

1. By class (``CASME2`` setting ``3``): CASME II's others, fear and sadness clips (as in the
   challenge, its negatives are disgust and repression only); SAMM's other clips.
2. By episode: :data:`EXCLUDED`, extended by ``dataset.megc2019.exclude`` (keys
   ``part/subject/episode``). The challenge's composite has 2 CASME II negatives fewer (88) than
   the disgust + repression clips of the common coding file (90), but the challenge did not
   publish which; mezoo does not guess, so :data:`EXCLUDED` is empty and ``mezoo datasets info``
   warns about the difference. Add the two keys your reference list drops to match it exactly.

Expected counts (SPEC section 3): CASME II 145 samples / 24 subjects (88/32/25 negative / positive
/ surprise), SAMM 133 / 28 (92/26/15), SMIC 164 / 16 (70/51/43); 442 samples, 68 subjects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from mezoo.data.casme2 import CASME2
from mezoo.data.native import REAL_FACE_DEFAULTS, DatasetWarning, NativeDataset, find_subfolder
from mezoo.data.samm import SAMM
from mezoo.data.sample import Dataset, Sample
from mezoo.data.smic import SMIC
from mezoo.errors import DataError

#: Episodes left out of the composite beyond the class rule, as ``part/subject/episode``.
EXCLUDED: tuple[str, ...] = ()

#: part -> (samples, subjects, {class: samples}) of the MEGC2019 composite.
EXPECTED: dict[str, tuple[int, int, dict[str, int]]] = {
    "casme2": (145, 24, {"negative": 88, "positive": 32, "surprise": 25}),
    "samm": (133, 28, {"negative": 92, "positive": 26, "surprise": 15}),
    "smic": (164, 16, {"negative": 70, "positive": 51, "surprise": 43}),
}

PARTS: dict[str, tuple[type[NativeDataset], tuple[str, ...]]] = {
    "casme2": (CASME2, ("CASME2", "CASME II", "CASME_II", "CASME-II")),
    "samm": (SAMM, ("SAMM",)),
    "smic": (SMIC, ("SMIC", "SMIC-HS", "SMIC_HS")),
}


class MEGC2019(Dataset):
    """The composite: each part's loader in its 3-class setting, samples keeping their part."""

    classes: ClassVar[tuple[str, ...]] = ("negative", "positive", "surprise")
    config_defaults: ClassVar[dict[str, Any]] = REAL_FACE_DEFAULTS
    #: its parts, whose options live under ``dataset.megc2019.<part>`` (not ``dataset.<part>``)
    composite_of: ClassVar[tuple[str, ...]] = ("casme2", "samm", "smic")

    def __init__(self, root: str | Path | None = None, exclude: Sequence[str] = (),
                 casme2: Mapping[str, Any] | None = None, samm: Mapping[str, Any] | None = None,
                 smic: Mapping[str, Any] | None = None):
        super().__init__(root)
        self.exclude = {*EXCLUDED, *(str(k).strip("/") for k in exclude or ())}
        self.options = {"casme2": dict(casme2 or {}), "samm": dict(samm or {}), "smic": dict(smic or {})}
        self.parts: dict[str, NativeDataset] = {}

    def part(self, name: str) -> NativeDataset:
        """The loader of part ``name``, built on first use."""
        if name not in self.parts:
            cls, folders = PARTS[name]
            options = dict(self.options[name])
            root = options.pop("root", None)
            if root is None:
                if self.root is None:
                    raise DataError("dataset 'megc2019' needs its folder: pass --data-root DIR (holding CASME2/, "
                                    "SAMM/, SMIC/) or set dataset.megc2019.<part>.root for each part")
                root = find_subfolder(self.root, folders, "megc2019", name)
            options.setdefault("classes", "3")
            part = cls(root=root, **options)
            part.settings = f"dataset.megc2019.{name}"  # its options live here, so its advice names this
            self.parts[name] = part
        return self.parts[name]

    def samples(self) -> list[Sample]:
        out = []
        for name in PARTS:
            out += [s for s in self.part(name).samples() if s.key not in self.exclude]
        return out

    @property
    def notes(self) -> list[str]:
        return [f"{name}: {n}" for name, part in self.parts.items() for n in part.notes]


def count_differences(samples: Sequence[Sample]) -> list[str]:
    """How the composite's per-part counts differ from MEGC2019's (empty when they match)."""
    out = []
    for part, (n, subjects, per_class) in EXPECTED.items():
        mine = [s for s in samples if s.dataset == part]
        got_subjects = len({s.subject for s in mine})
        if len(mine) != n or got_subjects != subjects:
            out.append(f"{part}: {len(mine)} samples / {got_subjects} subjects, MEGC2019 has {n} / {subjects}")
        for label, expected in per_class.items():
            got = sum(s.label == label for s in mine)
            if got != expected:
                out.append(f"{part}: {got} {label} samples, MEGC2019 has {expected}")
    return out


__all__ = ["EXCLUDED", "EXPECTED", "MEGC2019", "count_differences", "DatasetWarning"]
