"""``mezoo compare``: finished runs on the same samples, compared pairwise.

Each pair gets the difference in UF1 and UAR (the later run minus the earlier, in the order given),
its paired subject-bootstrap interval and its sign-flip permutation p-value
(:func:`mezoo.loso.stats.paired_difference`), on all samples and on each dataset part. Runs are
read from their run directories (``report.json`` and ``predictions.csv``); runs on other samples,
with other classes, other true labels or another protocol are refused with one line naming the
difference, since their numbers do not pair.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mezoo.errors import DataError, StorageError
from mezoo.layout import RunLayout
from mezoo.loso.report import PART_TITLES, part_order
from mezoo.loso.stats import LEVEL, RESAMPLES, SEED, paired_difference


@dataclass
class RunPredictions:
    """A finished run's pooled predictions, sorted by sample key."""

    path: Path
    title: str
    protocol: str
    classes: tuple[str, ...]
    keys: list[str]
    subjects: np.ndarray
    parts: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray


def read_run(path: str | Path) -> RunPredictions:
    """The predictions of the finished run at ``path``; of a run over several seeds, every seed's
    (a sample's key then names its seed: ``seed-1/casme2/sub01/EP02_01f``).

    Raises:
        StorageError: not a finished run directory, or its files are damaged.
    """
    path = Path(path)
    layout = RunLayout(path)
    report = _read_json(layout.report, path)
    seeds = report.get("seeds") if isinstance(report.get("seeds"), dict) else None
    tables = [("", path / "predictions.csv")] if seeds is None else [
        (f"seed-{s}/", layout.seed(int(s)) / "predictions.csv") for s in seeds]
    rows = []
    for prefix, table in tables:
        if not table.is_file():
            raise StorageError(f"{path} is not a finished mezoo run ({table} is missing); give the run directory "
                               f"`mezoo run` printed, once the run has finished")
        try:
            with table.open(newline="", encoding="utf-8") as f:
                rows += [{**r, "key": prefix + r["key"]} for r in csv.DictReader(f)]
        except (OSError, UnicodeDecodeError, KeyError, csv.Error) as exc:
            raise StorageError(f"{table} is damaged ({exc}); run `mezoo run` on the run again to rewrite it") from None
    rows.sort(key=lambda r: r["key"])
    try:
        classes = tuple(report["classes"])
        index = {c: i for i, c in enumerate(classes)}
        y_true = np.array([index[r["true"]] for r in rows])
        y_pred = np.array([index[r["predicted"]] for r in rows])
        subjects = np.array([r["subject"] for r in rows])
        parts = np.array([r["part"] for r in rows])
    except (KeyError, TypeError) as exc:
        raise StorageError(f"the predictions of run {path} do not match its report ({type(exc).__name__}: {exc}); "
                           f"run `mezoo run` on it again to rewrite them") from None
    run = report.get("run", {})
    model = (f"{run['features']} + {run.get('classifier', '?')}" if run.get("features")
             else f"{run.get('displacement', '?')} + {run.get('fusion', '?')}")
    title = f"{model} ({path})"
    return RunPredictions(path, title, run.get("protocol", "loso"), classes, [r["key"] for r in rows], subjects,
                          parts, y_true, y_pred)


def _read_json(file: Path, run: Path) -> dict[str, Any]:
    if not file.is_file():
        raise StorageError(f"{run} is not a finished mezoo run (it has no report.json); give the run directory "
                           f"`mezoo run` printed, once the run has finished")
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"{file} is damaged ({exc}); run `mezoo run` on the run again to rewrite it") from None
    if not isinstance(report, dict):
        raise StorageError(f"{file} is not a mezoo report; run `mezoo run` on the run again to rewrite it")
    return report


def check_pairs(first: RunPredictions, second: RunPredictions) -> None:
    """Refuse two runs whose predictions do not pair.

    Raises:
        DataError: other protocols, classes, samples or true labels (one line, naming both runs).
    """
    pair = f"{first.path} and {second.path}"
    if first.protocol != second.protocol:
        raise DataError(f"{pair} ran different protocols ({first.protocol} and {second.protocol}); compare runs "
                        f"of one protocol")
    if first.classes != second.classes:
        raise DataError(f"{pair} have different classes ({', '.join(first.classes)} and {', '.join(second.classes)})")
    if first.keys != second.keys:
        only = sorted(set(first.keys) ^ set(second.keys))
        raise DataError(f"{pair} predicted different samples ({len(first.keys)} and {len(second.keys)}; "
                        f"{len(only)} in one only, e.g. {only[0] if only else '?'}); compare runs on the same dataset, "
                        f"exclusions and seeds")
    if not np.array_equal(first.y_true, second.y_true) or not np.array_equal(first.subjects, second.subjects):
        raise DataError(f"{pair} give the same samples other labels or subjects (the dataset's annotation or "
                        f"dataset.<name>.classes changed between them)")


def compare_runs(paths: Sequence[str | Path], resamples: int = RESAMPLES, seed: int = SEED,
                 level: float = LEVEL) -> list[dict[str, Any]]:
    """Every pair of the runs at ``paths`` (in the order given), on all samples and per dataset part.

    Returns:
        One row per pair and part: ``first``, ``second`` (titles), ``part``, and the
        :func:`~mezoo.loso.stats.paired_difference` fields.

    Raises:
        DataError: fewer than two runs, or a pair that does not pair (:func:`check_pairs`).
    """
    if len(paths) < 2:
        raise DataError("mezoo compare needs at least two run directories")
    runs = [read_run(p) for p in paths]
    for a, b in itertools.combinations(runs, 2):
        check_pairs(a, b)
    parts = sorted(set(runs[0].parts.tolist()), key=part_order)
    scopes = [("full", np.ones(len(runs[0].keys), bool))]
    if len(parts) > 1:
        scopes += [(p, runs[0].parts == p) for p in parts]
    rows = []
    for a, b in itertools.combinations(runs, 2):
        for part, mask in scopes:
            d = paired_difference(a.y_true[mask], a.y_pred[mask], b.y_pred[mask], a.subjects[mask], len(a.classes),
                                  resamples, seed, level)
            rows.append({"first": a.title, "second": b.title, "part": part, **d})
    return rows


def comparison_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as a Markdown table: each pair and part, both runs' scores, the difference
    (second minus first) with its interval and p-value, for UF1 and UAR."""
    if not rows:
        return ""
    first = rows[0]
    head = ("| first | second | part | UF1 first | UF1 second | UF1 difference | p | UAR first | UAR second "
            "| UAR difference | p |")
    lines = [head, "|---|---|---|" + "---:|" * 8]
    for r in rows:
        cells = [r["first"], r["second"], "Full" if r["part"] == "full" else PART_TITLES.get(r["part"], r["part"])]
        for metric in ("uf1", "uar"):
            m = r[metric]
            cells += [f"{m['first']:.3f}", f"{m['second']:.3f}",
                      f"{m['difference']:+.3f} ({m['interval'][0]:+.3f} to {m['interval'][1]:+.3f})", f"{m['p']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Differences are second minus first, with {first['level']:.0%} paired bootstrap intervals over "
                  f"the {first['subjects']} subjects ({first['resamples']} resamples, seed {first['seed']}); p: "
                  f"sign-flip permutation test over subjects ({first['resamples']} permutations)."]
    return "\n".join(lines) + "\n"
