"""The YAML layer of the settings: the packaged defaults, a user's file, ``--set key=value``.

These work on plain nested mappings; :mod:`mezoo.settings` turns the merged layers into typed,
checked :class:`~mezoo.settings.Settings`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
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


def load_file(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Read a YAML settings file; an empty file is an empty mapping.

    Raises:
        ConfigError: one line naming the file, for a missing, unreadable, non-UTF-8 or invalid
            file, or one that does not hold a mapping.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text (is it the right file?)") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML ({yaml_problem(exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} {path} must hold a mapping of settings at the top, not {type(data).__name__}")
    return dict(data)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong and where."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


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


def dump(config: Mapping[str, Any]) -> str:
    """The config as YAML text, in a stable key order."""
    return yaml.safe_dump(dict(config), sort_keys=False)
