"""Settings: the packaged YAML defaults, a user YAML file, ``--set key=value`` overrides."""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mezoo.errors import ConfigError


def defaults() -> dict[str, Any]:
    """The packaged defaults (``mezoo/defaults.yaml``) as a fresh dict."""
    text = resources.files("mezoo").joinpath("defaults.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; mappings merge, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; an empty file is an empty config."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {path} must hold a mapping at the top, not {type(data).__name__}")
    return dict(data)


def parse_set(items: Iterable[str]) -> dict[str, Any]:
    """Turn ``["train.epochs=5", "fusion.name=fu_b_attn"]`` into a nested dict.

    Values are parsed as YAML, so ``5`` is an int, ``true`` a bool and ``[1, 2]`` a list.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value (for example train.epochs=5), got {item!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = out
        parts = [p.strip() for p in key.split(".")]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r} conflicts with an earlier --set of {part!r}")
        node[parts[-1]] = value
    return out


def resolve(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    dataset_defaults: Mapping[str, Any] | None = None,
    component_defaults: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Defaults, the chosen components' own defaults, the dataset's, the config file, then overrides.

    ``component_defaults``: the ``config_defaults`` of the chosen displacement provider and fusion
    head (FRL-DGT-S's head brings batch 5 and TIM); the dataset's come after them because they
    scale a run to the data (the synthetic set's lighter DGM).
    """
    config = defaults()
    for layer in component_defaults:
        config = merge(config, layer)
    if dataset_defaults:
        config = merge(config, dataset_defaults)
    if config_file is not None:
        config = merge(config, load_file(config_file))
    if overrides:
        config = merge(config, overrides)
    return config


def component_options(config: Mapping[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """The chosen component name of section ``kind`` and the options stored under that name."""
    from mezoo.plugins import normalize_name

    section = config.get(kind) or {}
    name = section.get("name")
    if not name:
        raise ConfigError(f"no {kind} chosen: set {kind}.name")
    name = normalize_name(str(name))
    options = section.get(name) or {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"{kind}.{name} must be a mapping of options, not {options!r}")
    return name, dict(options)


def call_with_options(factory: Callable[..., Any], label: str, options: Mapping[str, Any]) -> Any:
    """Call ``factory(**options)``, turning an unknown option into an error that lists the valid ones."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory(**options)
    params = signature.parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            valid = sorted(
                n for n, p in params.items()
                if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                and n != "self"
            )
            raise ConfigError(
                f"{label} has no option {', '.join(map(repr, unknown))}; valid options: {', '.join(valid)}"
            )
    return factory(**options)


def fingerprint(config: Mapping[str, Any]) -> str:
    """A short stable hash of the settings that change results (everything but ``run``)."""
    relevant = {k: v for k, v in config.items() if k != "run"}
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def dump(config: Mapping[str, Any]) -> str:
    """The config as YAML text, in a stable key order."""
    return yaml.safe_dump(dict(config), sort_keys=False)
