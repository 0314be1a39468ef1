"""Model directories: what ``mezoo train`` writes and :func:`mezoo.load_model` reads.

Layout::

    model.json          format, mezoo and plugin versions, class names, the components used and
                        the distributions that provide them, a summary of the training data
    config.yaml         the resolved settings (face, regions, displacement, fusion, ...)
    weights.safetensors the trained weights

A finished LOSO run directory (``mezoo run --set run.checkpoints=true``) reads as a model too:
its fold checkpoints are an ensemble whose probabilities are averaged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mezoo import __version__, plugins
from mezoo.errors import MezooError, StorageError
from mezoo.files import write_atomic
from mezoo.layout import CONFIG_FILE, RunLayout

#: the layout this mezoo writes; it reads this and every earlier one
MODEL_FORMAT = 1
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


class ModelError(MezooError):
    """A model directory that cannot be used (not one, damaged, incompatible, missing plugins)."""


@dataclass
class ModelFiles:
    """What a model directory holds, read and checked: settings, classes, one state dict per member
    of the ensemble (one for a ``mezoo train`` model, one per fold for a LOSO run), and ``info``
    (the contents of ``model.json``, or a LOSO run's equivalent)."""

    path: Path
    settings: Any
    classes: tuple[str, ...]
    states: list[dict[str, torch.Tensor]]
    info: dict[str, Any] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)


def components_of(settings: Any) -> dict[str, dict[str, Any]]:
    """The components a model needs at prediction time, each with the distribution (and its
    version) that registered it: ``{"displacement": {"name": ..., "distribution": ..., "version": ...}, ...}``."""
    from mezoo.model import is_sequence_model

    wanted = {"dataset": settings.dataset.name, "displacement": settings.displacement.name,
              "fusion": settings.fusion.name}
    if is_sequence_model(settings):
        wanted["interpolator"] = settings.sequence.interpolator
    owner = {}
    for info in plugins.plugin_info(include_builtin=True):
        for kind, names in info["components"].items():
            for name in names:
                owner[(kind, name)] = (info["distribution"], info["version"])
    out = {}
    for kind, name in wanted.items():
        dist, version = owner.get((kind, plugins.normalize_name(name)), (None, None))
        out[kind] = {"name": name, "distribution": dist, "version": version}
    return out


def write_model_dir(path: str | Path, settings: Any, model: torch.nn.Module, classes: tuple[str, ...],
                    data: dict[str, Any], seconds: float) -> Path:
    """Write a model directory (see the module docstring); each file atomically, ``model.json`` last,
    so a directory with a ``model.json`` is complete."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(path / CONFIG_FILE, settings.dump(), "choose a writable --out")
    write_atomic(path / WEIGHTS_FILE, lambda tmp: save_file(state, str(tmp)), "free space or choose a writable --out")
    info = {
        "format": MODEL_FORMAT,
        "mezoo": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "classes": list(classes),
        "components": components_of(settings),
        "fingerprint": settings.fingerprint,
        "data": data,
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__.split("+")[0],
    }
    write_atomic(path / MODEL_FILE, json.dumps(info, indent=2), "choose a writable --out")
    return path


def read_model_dir(path: str | Path) -> ModelFiles:
    """Read and check a model directory, or a LOSO run directory as a fold ensemble.

    Raises:
        ModelError: not a model directory, a newer format, plugins not installed (named, with the
            distribution to install), settings this mezoo does not take, damaged or mismatched weights.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model {path} is not a folder; pass a folder made by `mezoo train --out DIR` or a LOSO "
                         f"run directory")
    if (path / MODEL_FILE).is_file():
        return _read_trained(path)
    run = RunLayout(path)
    if run.config.is_file() and run.folds.is_dir():
        return _read_loso(path)
    seeds = sorted(p.name for p in path.glob("seed-*") if RunLayout(p).config.is_file())
    if seeds:
        raise ModelError(f"{path} is a run over several seeds; load the run of one of them as a model, e.g. "
                         f"{path / seeds[0]}")
    raise ModelError(f"{path} is not a mezoo model directory (it has no {MODEL_FILE}, and is not a LOSO run "
                     f"directory with config.yaml and folds/); make one with `mezoo train --out {path}`")


def _read_trained(path: Path) -> ModelFiles:
    try:
        info = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path / MODEL_FILE} is damaged ({str(exc).splitlines()[0]}); train the model again with "
                         f"`mezoo train`") from None
    if not isinstance(info, dict) or not isinstance(info.get("format"), int) or not info.get("classes"):
        raise ModelError(f"{path / MODEL_FILE} is not a mezoo model description (no format or classes); train the "
                         f"model again with `mezoo train`")
    made_by = f"mezoo {info.get('mezoo', '?')}"
    if info["format"] > MODEL_FORMAT:
        raise ModelError(f"model {path} was made by {made_by} in model format {info['format']}; this mezoo "
                         f"({__version__}) reads format {MODEL_FORMAT} and earlier: upgrade mezoo "
                         f"(pip install -U mezoo)")
    _check_components(path, info.get("components") or {})
    settings = _settings(path, made_by)
    state = _weights(path / WEIGHTS_FILE, made_by)
    return ModelFiles(path, settings, tuple(info["classes"]), [state], info, ["model"])


def _read_loso(path: Path) -> ModelFiles:
    run = RunLayout(path)
    settings = _settings(path, "a LOSO run")
    if settings.classical:
        raise ModelError(f"LOSO run {path} is of the classical baseline {settings.title}, which is evaluated, not "
                         f"deployed: it keeps no model to predict with; train a network with `mezoo train` "
                         f"(features.name: none)")
    report = run.report
    classes: tuple[str, ...] | None = None
    if report.is_file():
        try:
            classes = tuple(json.loads(report.read_text(encoding="utf-8"))["classes"])
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            classes = None
    if classes is None:  # a run still going: its dataset's class names
        classes = tuple(getattr(plugins.get("dataset", settings.dataset.name), "classes", ()) or ())
    if not classes:
        raise ModelError(f"LOSO run {path} has no report.json naming its classes; let the run finish first")
    finished = sorted(run.folds.glob("*.json"))
    members = [f.stem for f in finished if run.checkpoint(f.stem).is_file()]
    if not members:
        raise ModelError(f"LOSO run {path} has no fold checkpoints to predict with (it ran without "
                         f"run.checkpoints, or no fold finished); run it again into a new --out with "
                         f"`--set run.checkpoints=true`, or train one model on every subject with `mezoo train`")
    states = [_weights(run.checkpoint(m), "a LOSO run") for m in members]
    components = components_of(settings)
    info = {"format": MODEL_FORMAT, "mezoo": __version__, "classes": list(classes), "components": components,
            "fingerprint": settings.fingerprint, "loso_run": True, "folds": len(finished)}
    return ModelFiles(path, settings, classes, states, info, members)


def _check_components(path: Path, components: dict[str, Any]) -> None:
    missing = []
    for kind, entry in components.items():
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        if plugins.normalize_name(entry["name"]) not in plugins.registrations(kind):
            dist = entry.get("distribution")
            source = f"from {dist} {entry.get('version') or ''}".rstrip() if dist else "from an unknown plugin"
            missing.append((kind, entry["name"], source, dist))
    if missing:
        named = "; ".join(f"{kind} {name!r} ({source})" for kind, name, source, _ in missing)
        dists = sorted({d for *_, d in missing if d})
        install = f": pip install {' '.join(dists)}" if dists else ": install the plugin that provides them"
        raise ModelError(f"model {path} needs components no installed plugin provides: {named}{install}")


def _settings(path: Path, made_by: str) -> Any:
    from mezoo.settings import load_settings

    try:
        return load_settings(path / CONFIG_FILE)
    except MezooError as exc:
        if isinstance(exc, StorageError) or not (path / CONFIG_FILE).is_file():
            raise
        raise ModelError(f"model {path} was made by {made_by} with settings this mezoo ({__version__}) does not take "
                         f"({exc}); predict with the mezoo that trained it, or train again") from None


def _weights(file: Path, made_by: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not file.is_file():
        raise ModelError(f"weights {file} are missing; the model directory is incomplete: train it again")
    try:
        return load_file(str(file))
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"weights {file} (made by {made_by}) are damaged ({str(exc).splitlines()[0]}); train the "
                         f"model again") from None


def load_state(model: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """Load ``state`` into ``model``; a mismatch (other settings or another version's model) is one line.

    Raises:
        ModelError: keys missing or unexpected, or shapes that differ, naming a few.
    """
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        first = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line][:2]
        raise ModelError(f"weights {where} do not fit the model its settings build ({'; '.join(first) or exc}); "
                         f"it was made by another version of a component: predict with that version") from None
    if result.missing_keys or result.unexpected_keys:
        names = ", ".join((result.missing_keys + result.unexpected_keys)[:4])
        raise ModelError(f"weights {where} do not fit the model its settings build (missing or unexpected: {names}); "
                         f"it was made by another version of a component: predict with that version")


def check_versions(files: ModelFiles) -> list[str]:
    """Differences between the plugin versions a model was made with and the installed ones (for a warning)."""
    notes = []
    installed = components_of(files.settings)
    for kind, entry in (files.info.get("components") or {}).items():
        now = installed.get(kind) or {}
        if isinstance(entry, dict) and entry.get("version") and now.get("version") and entry["version"] != now["version"]:
            notes.append(f"{kind} {entry['name']!r} was {entry['distribution']} {entry['version']}, now {now['version']}")
    return notes

