"""The run report: pooled metrics overall and per dataset part, as JSON and Markdown (paper Table 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mezoo.loso.metrics import scores

#: how parts are titled and ordered in tables (paper Table 1: Full, SMIC, SAMM, CASME II)
PART_TITLES = {"smic": "SMIC", "samm": "SAMM", "casme2": "CASME II", "casme3": "CAS(ME)^3"}
_PART_ORDER = ("smic", "samm", "casme2")


def _part_key(part: str) -> tuple[int, str]:
    return (_PART_ORDER.index(part) if part in _PART_ORDER else len(_PART_ORDER), part)


def build_report(classes: Sequence[str], parts: Sequence[str], y_true: Sequence[int],
                 y_pred: Sequence[int]) -> dict[str, Any]:
    """Metrics on all pooled predictions (``full``) and on each part's share of them."""
    parts = np.asarray(parts)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(classes)
    report: dict[str, Any] = {"classes": list(classes), "full": scores(y_true, y_pred, k), "parts": {}}
    for part in sorted(set(parts.tolist()), key=_part_key):
        mask = parts == part
        report["parts"][part] = scores(y_true[mask], y_pred[mask], k)
    return report


def markdown(report: dict[str, Any], title: str) -> str:
    """The report as Markdown: a Table-1-style UF1/UAR table, then accuracy and the confusion matrix.

    Per-part columns appear when the run has more than one part (a composite dataset).
    """
    columns = [("Full", report["full"])]
    if len(report["parts"]) > 1:
        columns += [(PART_TITLES.get(p, p), s) for p, s in report["parts"].items()]
    head = "| Method | " + " | ".join(f"{name} UF1 | {name} UAR" for name, _ in columns) + " |"
    rule = "|---|" + "---:|---:|" * len(columns)
    row = f"| {title} | " + " | ".join(f"{s['uf1']:.3f} | {s['uar']:.3f}" for _, s in columns) + " |"
    lines = [head, rule, row, ""]
    lines.append(
        "Accuracy: " + ", ".join(f"{name} {s['accuracy']:.3f} (n={s['n']})" for name, s in columns) + "."
    )
    classes = report["classes"]
    lines += ["", "Confusion matrix (rows: true class, columns: predicted), all parts pooled:", ""]
    lines.append("| true \\ predicted | " + " | ".join(classes) + " |")
    lines.append("|---|" + "---:|" * len(classes))
    for name, counts in zip(classes, report["full"]["confusion"]):
        lines.append(f"| {name} | " + " | ".join(str(c) for c in counts) + " |")
    return "\n".join(lines) + "\n"
