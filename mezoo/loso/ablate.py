"""The ablation rows of the paper's Table 2 (M0-M9), each a LOSO run with one change, and M0-TVL1
(M0 with Dual TV-L1 flow instead of Farneback's, beside it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mezoo.config import merge
from mezoo.errors import ConfigError
from mezoo.files import write_atomic
from mezoo.engine.executors import Executor, make_executor
from mezoo.engine.frames import Frames
from mezoo.loso.report import PART_TITLES
from mezoo.loso.runner import LosoRun, RunResult, drive, start_run
from mezoo.loso.seeds import seed_runs, write_seeds_report
from mezoo.settings import Settings

#: row -> (what it changes, Table 2's columns DGM / AU regions / full-face / global / local / fusion layer)
ROWS: dict[str, tuple[str, tuple[str, str, str, str, str, str]]] = {
    "M0": ("DGM -> optical flow (farneback)", ("-> OpticalFlow", "yes", "yes", "yes", "yes", "Fu-B")),
    # not in the paper's table: M0 with the flow most ME papers use
    "M0-TVL1": ("DGM -> optical flow (tvl1)", ("-> TV-L1 flow", "yes", "yes", "yes", "yes", "Fu-B")),
    "M1": ("DGM -> OF+NORM (of_norm)", ("-> OF+NORM", "yes", "yes", "yes", "yes", "Fu-B")),
    "M2": ("DGM -> dynamic image", ("-> DynamicImage", "yes", "yes", "yes", "yes", "Fu-B")),
    "M3": ("DGM without self-supervision (and without pre-trained weights)", ("w/o self-supervise", "yes", "yes", "yes", "yes", "Fu-B")),
    "M4": ("Fu-B-Attn -> Fu-A-Attn", ("yes", "yes", "yes", "yes", "yes", "-> Fu-A-Attn")),
    "M5": ("AU regions -> 3x3 patches", ("yes", "-> 3x3 patches", "yes", "yes", "yes", "Fu-B")),
    "M6": ("no full-face fusion", ("yes", "yes", "no", "yes", "yes", "Fu-B")),
    "M7": ("no local fusion", ("yes", "yes", "yes", "yes", "no", "Fu-B")),
    "M8": ("no global fusion", ("yes", "yes", "yes", "no", "yes", "Fu-B")),
    "M9": ("FRL-DGT, the full model", ("yes", "yes", "yes", "yes", "yes", "Fu-B")),
}


def row_config(base: Settings, row: str) -> Settings:
    """The settings of ablation ``row``: the full model (DGM + Fu-B-Attn on AU regions) with one change.

    The row's changes go over what the caller gave and the settings are resolved again (so a
    row's components bring their own defaults, as on the command line). The Fu-A-Attn row (M4)
    takes the Fu-B-Attn row's options, so only the fusion layer differs.
    """
    fu_b = base.fusion.options.get("fu_b_attn") or {}
    full = {"displacement": {"name": "dgm"}, "fusion": {"name": "fu_b_attn"}, "regions": {"kind": "au9"}}
    changes: dict[str, dict[str, Any]] = {
        "M0": {"displacement": {"name": "farneback"}},
        "M0-TVL1": {"displacement": {"name": "tvl1"}},
        "M1": {"displacement": {"name": "of_norm"}},
        "M2": {"displacement": {"name": "dynamic_image"}},
        # pre-trained weights are self-supervision too (on other clips): M3 starts from scratch
        "M3": {"displacement": {"dgm": {"self_supervised": False, "weights": None}}},
        "M4": {"fusion": {"name": "fu_a_attn", "fu_a_attn": fu_b}},
        "M5": {"regions": {"kind": "grid3x3"}},
        "M6": {"fusion": {"fu_b_attn": {"use_full_face": False}}},
        "M7": {"fusion": {"fu_b_attn": {"use_local": False}}},
        "M8": {"fusion": {"fu_b_attn": {"use_global": False}}},
        "M9": {},
    }
    if row not in changes:
        raise ConfigError(f"unknown ablation row {row!r}; expected one of: {', '.join(ROWS)}")
    return base.changed(merge(full, changes[row]))


def parse_rows(text: str | None) -> list[str]:
    """``"M0,m4, M9"`` -> ``["M0", "M4", "M9"]``; ``None`` -> all rows."""
    if not text:
        return list(ROWS)
    rows = [r.strip().upper() for r in text.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise ConfigError(f"unknown ablation row {', '.join(unknown)}; expected one of: {', '.join(ROWS)}")
    return rows


def ablation_table(results: Mapping[str, RunResult]) -> str:
    """Markdown in the layout of the paper's Table 2, with this run's numbers."""
    parts = table_parts(results)
    head = ["Method", "DGM", "AU Regions", "Full-face Fusion", "Global Fusion", "Local Fusion", "Fu-B-Attn",
            "Full UF1", "Full UAR", "Fold time (s)"]
    head += [f"{PART_TITLES.get(p, p)} {m}" for p in parts for m in ("UF1", "UAR")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 7 + "---:|" * (len(head) - 7)]
    seconds = lambda r: r.report["run"].get("fold_seconds")  # noqa: E731 (older reports lack it)
    for row, result in results.items():
        full = result.report["full"]
        cells = [row, *ROWS[row][1], score_cell(full, "uf1"), score_cell(full, "uar"),
                 "-" if seconds(result) is None else f"{seconds(result):.0f}"]
        for p in parts:
            s = result.report["parts"].get(p)
            cells += [score_cell(s, "uf1"), score_cell(s, "uar")] if s else ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_parts(results: Mapping[str, RunResult]) -> list[str]:
    """The dataset parts of the runs' reports, in the order met, for per-part columns (none when
    there is only one part: the full columns already say it)."""
    parts: list[str] = []
    for result in results.values():
        for part in result.report["parts"]:
            if part not in parts:
                parts.append(part)
    return parts if len(parts) >= 2 else []


def score_cell(scores: dict[str, Any], metric: str) -> str:
    """A score, with its standard deviation over seeds when the row ran several, and its 95 %
    subject-bootstrap interval (pooled over the seeds) when the report has one."""
    sd = scores.get(f"{metric}_sd")
    interval = (scores.get("interval") or {}).get(metric)
    return (f"{scores[metric]:.3f}" + ("" if sd is None else f" +- {sd:.3f}")
            + ("" if not interval else f" [{interval[0]:.3f}, {interval[1]:.3f}]"))


def run_ablation(settings: Settings, rows: Sequence[str], out: str | Path, progress: bool = True,
                 on_row: Callable[[str, RunResult], None] | None = None,
                 executor: Executor | None = None, seeds: Sequence[int] | None = None) -> dict[str, RunResult]:
    """Run each row as a LOSO run in ``out/<row>`` (resumable like any run; :func:`run_grid`), then
    write ``out/ablation.md`` and ``out/ablation.json``.

    Raises:
        FoldsFailed: some folds failed (every other fold, and every complete row's report, is saved).
    """
    out = Path(out)
    results = run_grid({row: row_config(settings, row) for row in rows}, out, progress, on_row, executor, seeds)
    table = ablation_table(results)
    write_atomic(out / "ablation.md", f"# mezoo ablation on {settings.dataset.name} (paper Table 2)\n\n{table}")
    write_atomic(out / "ablation.json", json.dumps(
        {row: {"change": ROWS[row][0], "full": r.report["full"], "parts": r.report["parts"],
               "run_dir": str(r.run_dir)} for row, r in results.items()}, indent=2))
    return results


def run_grid(configs: Mapping[str, Settings], out: str | Path, progress: bool = True,
             on_row: Callable[[str, RunResult], None] | None = None,
             executor: Executor | None = None, seeds: Sequence[int] | None = None) -> dict[str, RunResult]:
    """Run each row's settings as a LOSO run in ``out/<row>`` (resumable like any run): the ablation's
    rows and the zoo's models.

    Every row's frames are read and its shared inputs computed first (rows that read the same frames
    share them), then the folds of all rows go to one executor (the first row's ``run.executor``
    unless ``executor`` is given): on Ray, one pool.
    ``on_row(row, result)`` is called as each row's last fold lands. With ``seeds``, each row runs
    once per seed in ``out/<row>/seed-<k>`` and its result is the report over its seeds
    (:mod:`mezoo.loso.seeds`).

    Raises:
        FoldsFailed: some folds failed (every other fold, and every complete row's report, is saved).
    """
    out = Path(out)
    if not configs:
        return {}
    executor = executor or make_executor(next(iter(configs.values())))
    frames: dict[str, Frames] = {}
    runs: dict[str, list[LosoRun]] = {}
    results: dict[str, RunResult] = {}

    def complete(run: LosoRun) -> None:
        row = next(r for r, candidates in runs.items() if any(c is run for c in candidates))
        if row in results or not all(r.complete for r in runs[row]):  # (a row of finished seeds: once)
            return
        finished = [r.finish() for r in runs[row]]
        results[row] = (finished[0] if seeds is None
                        else write_seeds_report(out / row, configs[row], seeds, finished, runs[row]))
        if on_row is not None:
            on_row(row, results[row])

    with executor:
        for row, config in configs.items():
            runs[row] = ([start_run(config, out / row, progress, executor.in_process, frames)] if seeds is None
                         else seed_runs(config, seeds, out / row, progress, executor, frames))
        drive([r for row_runs in runs.values() for r in row_runs], executor, progress, on_complete=complete)
    return {row: results[row] for row in configs}
