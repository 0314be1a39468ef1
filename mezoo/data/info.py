"""What a dataset holds, part by part: samples, subjects and classes (``mezoo datasets info``)."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

from mezoo.data.sample import Dataset, Sample


def describe(dataset: Dataset, name: str) -> dict[str, Any]:
    """Counts per part (and overall) of ``dataset``'s samples, what loading had to decide, and
    how the counts differ from the protocol's (``megc2019``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = dataset.samples()
    notes = list(getattr(dataset, "notes", []) or []) or [str(w.message) for w in caught]
    parts = list(dict.fromkeys(s.dataset for s in samples))
    rows = [_row(p, [s for s in samples if s.dataset == p], dataset.classes) for p in parts]
    if len(parts) > 1:
        rows.append(_row("all", samples, dataset.classes))
    differences: list[str] = []
    if name == "megc2019":
        from mezoo.data.megc2019 import count_differences

        differences = count_differences(samples)
    return {"dataset": name, "classes": list(dataset.classes), "parts": rows, "notes": notes,
            "differences": differences}


def _row(part: str, samples: Sequence[Sample], classes: Sequence[str]) -> dict[str, Any]:
    counts = Counter(s.label for s in samples)
    return {"part": part, "samples": len(samples), "subjects": len({s.group for s in samples}),
            "classes": {c: counts.get(c, 0) for c in classes}}


def table(info: dict[str, Any]) -> str:
    """``describe``'s counts as a Markdown table."""
    classes = info["classes"]
    head = ["part", "samples", "subjects", *classes]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in info["parts"]:
        cells = [row["part"], row["samples"], row["subjects"], *(row["classes"][c] for c in classes)]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)
