"""Building the configured dataset from the plugin registry (no torch: ``mezoo datasets info``
reads a dataset without importing the model code)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mezoo import plugins
from mezoo.config import component_options, defaults
from mezoo.data.sample import Dataset
from mezoo.errors import ConfigError


def make_dataset(config: Mapping[str, Any]) -> Dataset:
    """The configured dataset plugin, built with its root and options.

    The root is ``dataset.root`` (what ``--data-root`` sets), else ``dataset.<name>.root``.
    """
    name, options = component_options(config, "dataset")
    _check_composite_options(config, name)
    options = dict(options)
    own_root = options.pop("root", None)
    return plugins.make("dataset", name, root=config["dataset"].get("root") or own_root, **options)


def _check_composite_options(config: Mapping[str, Any], name: str) -> None:
    """A composite dataset (megc2019) reads its parts' options under its own section only: a
    part's options changed at ``dataset.<part>`` would be ignored there, so they are an error
    that names the key that works."""
    parts = getattr(plugins.get("dataset", name), "composite_of", ())
    packaged = defaults()["dataset"]
    for part in parts:
        given, default = config["dataset"].get(part) or {}, packaged.get(part) or {}
        changed = sorted(k for k in given if given[k] != default.get(k))
        if changed:
            raise ConfigError(f"dataset.{part}.{changed[0]} is not read in a {name} run: the options of its part "
                              f"{part} live under dataset.{name}.{part}; set dataset.{name}.{part}.{changed[0]} "
                              f"instead")
