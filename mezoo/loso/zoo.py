"""``mezoo zoo``: every chosen model of the zoo (:mod:`mezoo.zoo`) as a LOSO run of its own, and the
table of their results beside their published numbers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mezoo.config import merge
from mezoo.engine.executors import Executor
from mezoo.files import write_atomic
from mezoo.loso.ablate import run_grid, score_cell, table_parts
from mezoo.loso.report import PART_TITLES
from mezoo.loso.runner import RunResult
from mezoo.settings import Settings
from mezoo.zoo import ZooModel, models


def model_config(base: Settings, name: str) -> Settings:
    """The settings of zoo model ``name``: its changes over what the caller gave, resolved again (so
    its components bring their own defaults)."""
    model = models()[name]
    return base.changed(merge({"features": {"name": "none"}}, dict(model.changes)))


def run_zoo(settings: Settings, names: Sequence[str], out: str | Path, progress: bool = True,
            on_model: Callable[[str, RunResult], None] | None = None, executor: Executor | None = None,
            seeds: Sequence[int] | None = None) -> dict[str, RunResult]:
    """Run each model as a LOSO run in ``out/<model>`` (:func:`mezoo.loso.ablate.run_grid`: resumable,
    one executor for every fold), then write ``out/zoo.md`` and ``out/zoo.json``.

    Raises:
        FoldsFailed: some folds failed (every other fold, and every complete model's report, is saved).
    """
    out = Path(out)
    configs = {name: model_config(settings, name) for name in names}  # (every model checked before any data)
    results = run_grid(configs, out, progress, on_model, executor, seeds)
    table = zoo_table(results)
    write_atomic(out / "zoo.md", f"# mezoo model zoo on {settings.dataset.name}\n\n{table}")
    registered = models()
    write_atomic(out / "zoo.json", json.dumps(
        {name: {"title": registered[name].title, "paper": registered[name].paper,
                "published": dict(registered[name].published), "selected": registered[name].selected,
                "full": r.report["full"], "parts": r.report["parts"], "run_dir": str(r.run_dir)}
         for name, r in results.items()}, indent=2))
    return results


def zoo_table(results: Mapping[str, RunResult]) -> str:
    """Markdown in the layout of the FRL-DGT paper's Table 1: each model's full (and per-part) UF1
    and UAR with their intervals, beside its published composite numbers and how they were chosen."""
    registered = models()
    parts = table_parts(results)
    head = ["Model", "Paper", "Full UF1", "Full UAR"] + [f"{PART_TITLES.get(p, p)} {m}" for p in parts
                                                          for m in ("UF1", "UAR")]
    head += ["Fold time (s)", "Published UF1 / UAR (composite)", "How the published number was selected"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 4) + "---|---|"]
    for name, result in results.items():
        model = registered.get(name) or ZooModel(name, {})
        full = result.report["full"]
        cells = [model.title, model.paper or "-", score_cell(full, "uf1"), score_cell(full, "uar")]
        for p in parts:
            s = result.report["parts"].get(p)
            cells += [score_cell(s, "uf1"), score_cell(s, "uar")] if s else ["-", "-"]
        seconds = result.report["run"].get("fold_seconds")
        published = model.published
        cells += ["-" if seconds is None else f"{seconds:.1f}",
                  f"{published['uf1']:.3f} / {published['uar']:.3f}" if published else "-", model.selected or "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
