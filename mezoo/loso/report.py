"""The run report: every fold's predictions pooled and scored, overall and per dataset part (paper
Table 1), written as ``report.json``, ``report.md``, ``predictions.csv`` and figures."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mezoo.engine.frames import Frames
from mezoo.files import write_atomic
from mezoo.layout import RunLayout
from mezoo.loso.folds import Fold, FoldResult
from mezoo.loso.metrics import scores
from mezoo.loso.stats import bootstrap_interval
from mezoo.settings import Settings

#: how parts are titled and ordered in tables (paper Table 1: Full, SMIC, SAMM, CASME II)
PART_TITLES = {"smic": "SMIC", "samm": "SAMM", "casme2": "CASME II", "casme3": "CAS(ME)^3"}
_PART_ORDER = ("smic", "samm", "casme2")


def part_order(part: str) -> tuple[int, str]:
    return (_PART_ORDER.index(part) if part in _PART_ORDER else len(_PART_ORDER), part)


def build_report(classes: Sequence[str], parts: Sequence[str], y_true: Sequence[int], y_pred: Sequence[int],
                 subjects: Sequence[str]) -> dict[str, Any]:
    """Metrics on all pooled predictions (``full``) and on each part's share of them, each with its
    95 % interval from a bootstrap over ``subjects`` (one per prediction; :mod:`mezoo.loso.stats`)."""
    parts, subjects = np.asarray(parts), np.asarray(subjects)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(classes)

    def scored(mask: np.ndarray) -> dict[str, Any]:
        return {**scores(y_true[mask], y_pred[mask], k),
                "interval": bootstrap_interval(y_true[mask], y_pred[mask], subjects[mask], k)}

    report: dict[str, Any] = {"classes": list(classes), "full": scored(np.ones(len(y_true), bool)), "parts": {}}
    for part in sorted(set(parts.tolist()), key=part_order):
        report["parts"][part] = scored(parts == part)
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
    if all("interval" in s for _, s in columns):
        first = columns[0][1]["interval"]
        lines.append(f"{first['level']:.0%} intervals (bootstrap over subjects, {first['resamples']} resamples, seed "
                     f"{first['seed']}): " + ", ".join(
                         f"{name} UF1 {s['interval']['uf1'][0]:.3f}-{s['interval']['uf1'][1]:.3f}, "
                         f"UAR {s['interval']['uar'][0]:.3f}-{s['interval']['uar'][1]:.3f} "
                         f"({s['interval']['subjects']} subjects)" for name, s in columns) + ".")
        lines.append("")
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


def placement(result: FoldResult) -> dict[str, Any]:
    """A fold's entry in ``report["folds"]``: its seconds, the node that ran it (when the executor
    tells: Ray's node ID, host name, IP) and why earlier tries failed."""
    out: dict[str, Any] = {"seconds": result.seconds}
    if result.node:
        out["node"] = result.node
    if result.retried:
        out["retried"] = result.retried
    return out


def placement_markdown(folds: dict[str, dict[str, Any]]) -> str:
    """Where the folds ran and which were retried (empty when the executor did not say)."""
    nodes: dict[str, list[str]] = {}
    for name, got in folds.items():
        if "node" in got:
            nodes.setdefault(f"{got['node'].get('host', '?')} (node {got['node'].get('id', '?')[:12]})", []).append(name)
    lines = []
    if nodes:
        lines.append(f"Folds ran on {len(nodes)} node(s): "
                     + "; ".join(f"{where}: {len(names)} fold(s)" for where, names in nodes.items()) + ".")
    for name, got in folds.items():
        if got.get("retried"):
            lines.append(f"Fold {name} was retried: {'; '.join(got['retried'])}.")
    return "\n" + "\n\n".join(lines) + "\n" if lines else ""


def selection_markdown(selection: dict[str, Any]) -> str:
    """The settings chosen in each fold (``report["selection"]``) as Markdown."""
    folds = selection["folds"]
    keys = list(next(iter(folds.values()))["chosen"])
    lines = [f"Chosen inside each fold ({selection['how']}):", "",
             "| fold | " + " | ".join(f"train.{k}" for k in keys) + " | inner UF1 of each candidate |",
             "|---|" + "---:|" * len(keys) + "---|"]
    for name, got in folds.items():
        tried = ", ".join("/".join(str(c[k]) for k in keys) + f": {c['uf1']:.3f}" for c in got["inner"])
        lines.append(f"| {name} | " + " | ".join(str(got["chosen"][k]) for k in keys) + f" | {tried} |")
    return "\n".join(lines) + "\n"


def per_subject(subjects: Sequence[str], y_true: Sequence[int], y_pred: Sequence[int],
                num_classes: int) -> dict[str, dict[str, Any]]:
    """Each subject's sample count, UF1 and accuracy on its own samples (UF1 over the classes it has)."""
    subjects, y_true, y_pred = np.asarray(subjects), np.asarray(y_true), np.asarray(y_pred)
    out = {}
    for s in sorted(set(subjects.tolist())):
        m = subjects == s
        got = scores(y_true[m], y_pred[m], num_classes)
        out[s] = {"n": got["n"], "uf1": round(got["uf1"], 4), "accuracy": round(got["accuracy"], 4)}
    return out


@dataclass
class Pooled:
    """Every fold's test predictions pooled, in fold order: the ``rows`` of the run's frames they
    are for, with each row's true class, subject and dataset part, and the predictions."""

    rows: np.ndarray
    y_true: np.ndarray
    subjects: np.ndarray
    parts: np.ndarray
    y_pred: np.ndarray
    probs: list[list[float]]


def pool(data: Frames, folds: Sequence[Fold], results: dict[str, FoldResult]) -> Pooled:
    """The predictions of ``folds`` (their ``results``), each matched to its row of ``data``."""
    index = {k: i for i, k in enumerate(data.keys)}
    rows = np.asarray([index[k] for f in folds for k in results[f.subject].keys], dtype=np.int64)
    return Pooled(rows, data.labels[rows], data.groups[rows], data.parts[rows],
                  np.asarray([p for f in folds for p in results[f.subject].y_pred], dtype=np.int64),
                  [p for f in folds for p in results[f.subject].probs])


def write_report(run_dir: Path, settings: Settings, classes: tuple[str, ...], data: Frames, folds: list[Fold],
                 results: dict[str, FoldResult], inputs: str = "") -> tuple[dict[str, Any], str]:
    """Pool every fold's predictions, score them against the labels of ``data``, write the report
    files (``predictions.csv``, figures, ``report.json``, ``report.md``). ``inputs``: the name of the
    run's input path (:mod:`mezoo.engine.inputs`), recorded with the run.

    Returns:
        The report and its Markdown table.
    """
    pooled = pool(data, folds, results)
    report = build_report(classes, pooled.parts, pooled.y_true, pooled.y_pred, pooled.subjects)
    report["run"] = {
        "protocol": settings.protocol.describe(),
        "dataset": settings.dataset.name,
        "displacement": settings.displacement.name,
        "fusion": settings.fusion.name,
        **({"features": settings.features.name, "classifier": settings.classifier.name} if settings.classical else {}),
        "folds": len(folds),
        "fingerprint": settings.fingerprint,
        "inputs": inputs,  # how folds met the samples: precomputed, jittered, augmented, live or sequence
        "executor": settings.run.executor,
        # training and prediction of every fold, summed (preparation and precomputation excluded)
        "fold_seconds": round(sum(results[f.subject].seconds for f in folds), 1),
    }
    report["subjects"] = per_subject(pooled.subjects, pooled.y_true, pooled.y_pred, len(classes))
    chosen = {f.subject: results[f.subject] for f in folds if results[f.subject].selected}
    if chosen:
        report["selection"] = {
            "how": f"inner cross-validation over each fold's training subjects, {settings.protocol.inner_folds} "
                   f"subject groups, best pooled UF1 (first candidate on ties)",
            "folds": {name: {"chosen": r.selected, "inner": r.inner} for name, r in chosen.items()},
        }
    title = settings.title
    if settings.protocol.name != "loso":
        title += f", {settings.protocol.describe()}"
    report["folds"] = {f.subject: placement(results[f.subject]) for f in folds}
    text = markdown(report, title)
    if chosen:
        text += "\n" + selection_markdown(report["selection"])
    text += placement_markdown(report["folds"])
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["key", "subject", "part", "true", "predicted"] + [f"p_{c}" for c in classes])
    for r, subject, part, true, pred, p in zip(pooled.rows, pooled.subjects, pooled.parts, pooled.y_true,
                                               pooled.y_pred, pooled.probs):
        writer.writerow([data.keys[r], subject, part, classes[true], classes[pred]] + [f"{v:.4f}" for v in p])
    write_atomic(run_dir / "predictions.csv", table.getvalue())
    _figures(run_dir, settings, classes, report, [results[f.subject] for f in folds], title)
    write_atomic(RunLayout(run_dir).report, json.dumps(report, indent=2))
    write_atomic(run_dir / "report.md", f"# mezoo run: {title} on {settings.dataset.name}\n\n{text}")
    return report, text


def _figures(run_dir: Path, settings: Settings, classes: tuple[str, ...], report: dict[str, Any],
             folds: list[FoldResult], title: str) -> None:
    """confusion.png (paper Fig. 8), subjects.png (each test subject's scores) and, for Fu-B-Attn
    heads, fusion_weights.png (Fig. 7); for a sequence head also time_weights.png (the time fusion
    layer's weight of each step)."""
    from mezoo.face.au_regions import AU_REGION_NAMES, GRID3X3_NAMES
    from mezoo.figures import confusion_figure, fusion_weights_figure, subjects_figure, time_weights_figure

    confusion_figure(report["full"]["confusion"], classes, run_dir / "confusion.png", title)
    subjects_figure(report["subjects"], run_dir / "subjects.png", f"{title}: each test subject")
    weights = [f.fusion_weights for f in folds]
    if all("local" in w and "global" in w for w in weights):
        names = AU_REGION_NAMES if settings.regions.kind == "au9" else GRID3X3_NAMES
        local = np.mean([w["local"] for w in weights], axis=0)
        global_ = np.mean([w["global"] for w in weights], axis=0)
        fusion_weights_figure(local, global_, names, run_dir / "fusion_weights.png",
                              f"{title}: fusion weights, mean over test subjects")
    if weights and all("time" in w for w in weights):
        time_weights_figure(np.mean([w["time"] for w in weights], axis=0), run_dir / "time_weights.png",
                            f"{title}: time fusion weights, mean over test subjects")
