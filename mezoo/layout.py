"""Where mezoo writes: the default names of run, model and ablation directories, and the layout of a
run directory (:class:`RunLayout`), which the LOSO runner writes and :func:`mezoo.load_model` reads.

Stated once here; :mod:`mezoo.loso.rundir` says what each file holds and guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mezoo.settings import Settings

#: the settings of a run or model directory (what ``mezoo run --config`` reads back)
CONFIG_FILE = "config.yaml"
#: ``--out`` of ``mezoo run``, ``mezoo train`` and ``mezoo ablate`` when none is given, in words
DEFAULT_RUN_DIR = "runs/<dataset>-<displacement>-<fusion>-<fingerprint>"
DEFAULT_MODEL_DIR = "models/<dataset>-<displacement>-<fusion>-<fingerprint>"
DEFAULT_ABLATION_DIR = "runs/ablate-<dataset>-<fingerprint>"
DEFAULT_ZOO_DIR = "runs/zoo-<dataset>-<fingerprint>"


def default_name(settings: Settings) -> str:
    """``<dataset>-<displacement>-<fusion>-<fingerprint>``: what a run or a model is called by default
    (a classical model's: ``<dataset>-<features>-<classifier>-<fingerprint>``)."""
    parts = ((settings.features.name, settings.classifier.name) if settings.classical
             else (settings.displacement.name, settings.fusion.name))
    return f"{settings.dataset.name}-{parts[0]}-{parts[1]}-{settings.fingerprint}"


def default_run_dir(settings: Settings) -> Path:
    """``run.out``, else :data:`DEFAULT_RUN_DIR`."""
    return Path(settings.run.out) if settings.run.out else Path("runs") / default_name(settings)


def default_model_dir(settings: Settings) -> Path:
    """:data:`DEFAULT_MODEL_DIR`."""
    return Path("models") / default_name(settings)


def default_ablation_dir(settings: Settings) -> Path:
    """:data:`DEFAULT_ABLATION_DIR` (the rows' runs lie in it, one folder each)."""
    return Path("runs") / f"ablate-{settings.dataset.name}-{settings.fingerprint}"


def default_zoo_dir(settings: Settings) -> Path:
    """:data:`DEFAULT_ZOO_DIR` (the models' runs lie in it, one folder each)."""
    return Path("runs") / f"zoo-{settings.dataset.name}-{settings.fingerprint}"


@dataclass(frozen=True)
class RunLayout:
    """The files of a LOSO run directory at ``path``; a fold is named by its slug (``casme2__sub01``)::

        config.yaml                     the resolved settings
        folds/<slug>.json               a finished fold
        checkpoints/<slug>.safetensors  its trained weights (``run.checkpoints``)
        locks/<slug>.lock               held while a process trains that fold
        inner/<slug>/c<i>-g<k>.json     an inner training of the fold's model selection (``--select``)
        failed/<slug>.txt               why a fold's job failed
        predictions.csv, report.json, report.md, confusion.png, subjects.png, fusion_weights.png

    A run over several seeds (``mezoo run --seeds 0,1,2``) holds ``seed-<k>/``, a run directory as
    above for each seed, and ``report.json`` and ``report.md`` over them.
    """

    path: Path

    @property
    def config(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def folds(self) -> Path:
        return self.path / "folds"

    @property
    def report(self) -> Path:
        return self.path / "report.json"

    def fold_file(self, slug: str) -> Path:
        return self.folds / f"{slug}.json"

    def checkpoint(self, slug: str) -> Path:
        return self.path / "checkpoints" / f"{slug}.safetensors"

    def lock(self, slug: str) -> Path:
        return self.path / "locks" / f"{slug}.lock"

    def inner(self, slug: str, name: str) -> Path:
        return self.path / "inner" / slug / f"{name}.json"

    def failure(self, slug: str) -> Path:
        return self.path / "failed" / f"{slug}.txt"

    def seed(self, seed: int) -> Path:
        """The run of one seed of a run over several (``mezoo run --seeds``): a run directory of its own."""
        return self.path / f"seed-{seed}"
