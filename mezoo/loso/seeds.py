"""Several training seeds of one run: each seed a LOSO run of its own in ``RUN/seed-<k>`` (resumable
like any run), and one report over them.

The seeds share the frames (read once) and one executor (their folds in one pool). The report gives
each seed's row, the mean and sample standard deviation over the seeds of UF1, UAR and accuracy
(overall and per dataset part), and a 95 % interval from a bootstrap over subjects that pools every
seed's predictions of each subject drawn (:mod:`mezoo.loso.stats`): the seed's spread and the
subjects' both show in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mezoo.engine.executors import Executor, make_executor
from mezoo.engine.frames import Frames
from mezoo.errors import ConfigError
from mezoo.files import write_atomic
from mezoo.layout import RunLayout, default_run_dir
from mezoo.loso.report import PART_TITLES, part_order, pool
from mezoo.loso.runner import LosoRun, RunResult, drive, start_run
from mezoo.loso.stats import bootstrap_interval
from mezoo.settings import Settings

#: what is averaged over seeds
METRICS = ("uf1", "uar", "accuracy")


def parse_seeds(text: str) -> list[int]:
    """``"0,1, 2"`` -> ``[0, 1, 2]``.

    Raises:
        ConfigError: a part that is not an integer, a repeated seed, or none at all (one line).
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    bad = [p for p in parts if not p.lstrip("-").isdigit()]
    if bad or not parts:
        raise ConfigError(f"--seeds takes integers separated by commas, e.g. --seeds 0,1,2; got {text!r}")
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds names a seed twice ({text!r}); each seed is one run")
    return seeds


def seed_runs(settings: Settings, seeds: Sequence[int], run_dir: Path, progress: bool, executor: Executor,
              frames: dict[str, Frames]) -> list[LosoRun]:
    """One started LOSO run per seed in ``run_dir/seed-<k>`` (the frames read once, into ``frames``)."""
    return [start_run(settings.changed({"seed": s}), RunLayout(run_dir).seed(s), progress, executor.in_process, frames)
            for s in seeds]


def run_seeds(settings: Settings, seeds: Sequence[int], run_dir: str | Path | None = None, progress: bool = True,
              executor: Executor | None = None) -> RunResult:
    """Run ``settings`` once per seed (the module docstring) and write the report over the seeds.

    Raises:
        FoldsFailed: some folds failed (the others, and every complete seed's report, are saved).
    """
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(settings)
    executor = executor or make_executor(settings)
    with executor:
        runs = seed_runs(settings, seeds, run_dir, progress, executor, {})
        drive(runs, executor, progress)
    return write_seeds_report(run_dir, settings, seeds, [run.finish() for run in runs], runs)


def write_seeds_report(run_dir: Path, settings: Settings, seeds: Sequence[int], results: Sequence[RunResult],
                       runs: Sequence[LosoRun]) -> RunResult:
    """The report over the seeds' runs: ``report.json`` and ``report.md`` in ``run_dir``."""
    report = seeds_report(seeds, results, runs)
    report["run"] = {**results[0].report["run"], "seeds": list(seeds), "fingerprint": settings.fingerprint,
                     "fold_seconds": round(sum(r.report["run"].get("fold_seconds", 0) for r in results), 1)}
    title = settings.title
    text = seeds_markdown(report, title)
    write_atomic(RunLayout(run_dir).report, json.dumps(report, indent=2))
    write_atomic(run_dir / "report.md", f"# mezoo run: {title} on {settings.dataset.name}, {len(seeds)} seeds\n\n{text}")
    trained = [f"seed {s}: {subject}" for s, r in zip(seeds, results) for subject in r.trained]
    skipped = [f"seed {s}: {subject}" for s, r in zip(seeds, results) for subject in r.skipped]
    return RunResult(run_dir, report, text, trained, skipped)


def seeds_report(seeds: Sequence[int], results: Sequence[RunResult], runs: Sequence[LosoRun]) -> dict[str, Any]:
    """Each seed's scores, their mean and standard deviation, and the interval pooled over seeds."""
    classes = results[0].report["classes"]
    per_seed = {str(s): {"full": r.report["full"], "parts": r.report["parts"]} for s, r in zip(seeds, results)}
    pooled = [pool(run.data, run.folds, run.results) for run in runs]
    truth_a, predicted_a, subjects_a, parts_a = (np.concatenate([getattr(p, name) for p in pooled])
                                                 for name in ("y_true", "y_pred", "subjects", "parts"))

    def summary(blocks: list[dict[str, Any]], mask: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m in METRICS:
            values = np.array([b[m] for b in blocks], dtype=np.float64)
            out[m] = round(float(values.mean()), 4)
            out[f"{m}_sd"] = round(float(values.std(ddof=1)), 4) if len(values) > 1 else 0.0
        out["n"] = blocks[0]["n"]
        out["interval"] = {**bootstrap_interval(truth_a[mask], predicted_a[mask], subjects_a[mask], len(classes)),
                           "pooled_seeds": len(blocks)}
        return out

    report: dict[str, Any] = {
        "classes": classes, "seeds": per_seed,
        "full": summary([r.report["full"] for r in results], np.ones(len(truth_a), bool)),
        "parts": {p: summary([r.report["parts"][p] for r in results], parts_a == p)
                  for p in sorted(results[0].report["parts"], key=part_order)},
    }
    return report


def seeds_markdown(report: dict[str, Any], title: str) -> str:
    """Each seed's row, the mean +- sd row, then the pooled intervals and mean accuracy."""
    names = [("Full", "full")]
    if len(report["parts"]) > 1:
        names += [(PART_TITLES.get(p, p), p) for p in report["parts"]]

    def block(scores: dict[str, Any], key: str) -> dict[str, Any]:
        return scores["full"] if key == "full" else scores["parts"][key]

    summary = {"full": report["full"], "parts": report["parts"]}
    lines = ["| Method | " + " | ".join(f"{n} UF1 | {n} UAR" for n, _ in names) + " |",
             "|---|" + "---:|---:|" * len(names)]
    for seed, scores in report["seeds"].items():
        cells = [f"{block(scores, k)['uf1']:.3f} | {block(scores, k)['uar']:.3f}" for _, k in names]
        lines.append(f"| {title}, seed {seed} | " + " | ".join(cells) + " |")
    cells = [f"{block(summary, k)['uf1']:.3f} +- {block(summary, k)['uf1_sd']:.3f} | "
             f"{block(summary, k)['uar']:.3f} +- {block(summary, k)['uar_sd']:.3f}" for _, k in names]
    lines.append(f"| {title}, mean +- sd over {len(report['seeds'])} seeds | " + " | ".join(cells) + " |")
    first = report["full"]["interval"]
    lines += ["", f"{first['level']:.0%} intervals (bootstrap over subjects, each drawn subject's predictions of "
                  f"all {len(report['seeds'])} seeds pooled; {first['resamples']} resamples, seed {first['seed']}): "
              + ", ".join(f"{n} UF1 {block(summary, k)['interval']['uf1'][0]:.3f}-"
                          f"{block(summary, k)['interval']['uf1'][1]:.3f}, UAR "
                          f"{block(summary, k)['interval']['uar'][0]:.3f}-{block(summary, k)['interval']['uar'][1]:.3f}"
                          for n, k in names) + ".",
              "", "Accuracy, mean +- sd: " + ", ".join(
                  f"{n} {block(summary, k)['accuracy']:.3f} +- {block(summary, k)['accuracy_sd']:.3f} "
                  f"(n={block(summary, k)['n']})" for n, k in names) + "."]
    return "\n".join(lines) + "\n"
