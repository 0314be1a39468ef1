"""Building the configured dataset from the plugin registry (no torch: ``mezoo datasets info``
reads a dataset without importing the model code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mezoo import plugins
from mezoo.config import defaults
from mezoo.data.sample import Dataset
from mezoo.errors import ConfigError

if TYPE_CHECKING:
    from mezoo.settings import DatasetSettings


def make_dataset(settings: DatasetSettings) -> Dataset:
    """The chosen dataset plugin (``settings.name``), built with its root and options.

    The root is ``dataset.root`` (what ``--data-root`` sets), else ``dataset.<name>.root``.
    """
    name, options = settings.name, settings.chosen()
    _check_composite_options(settings, name)
    own_root = options.pop("root", None)
    return plugins.make("dataset", name, root=settings.root or own_root, **options)


def _check_composite_options(settings: DatasetSettings, name: str) -> None:
    """A composite dataset (megc2019) reads its parts' options under its own section only: a
    part's options changed at ``dataset.<part>`` would be ignored there, so they are an error
    that names the key that works."""
    parts = getattr(plugins.get("dataset", name), "composite_of", ())
    packaged = defaults()["dataset"]
    for part in parts:
        given, default = settings.options.get(part) or {}, packaged.get(part) or {}
        changed = sorted(k for k in given if given[k] != default.get(k))
        if changed:
            raise ConfigError(f"dataset.{part}.{changed[0]} is not read in a {name} run: the options of its part "
                              f"{part} live under dataset.{name}.{part}; set dataset.{name}.{part}.{changed[0]} "
                              f"instead")
