"""The model zoo's models: named settings that ``mezoo zoo`` runs side by side under one protocol
(:mod:`mezoo.loso.zoo` runs them).

Each model is a :class:`ZooModel`, registered through the ``register_models`` hook (the built-ins
in :mod:`mezoo.default_plugins.models`; a plugin adds its own). ``mezoo zoo`` runs every registered
model (or those chosen) as a LOSO run of its own in ``OUT/<model>``, all folds on one executor,
resumable, with seeds and intervals like any run, and prints a table in the layout of the FRL-DGT
paper's Table 1 with each model's published composite numbers beside this run's.

Published numbers are the MEGC2019 composite (CASME II + SAMM + SMIC) as each paper reports them;
they were chosen by each paper's own protocol, which ``selected`` states (most describe no
validation split, so an epoch or setting may have been chosen on the test subjects). mezoo's
numbers never look at a fold's test subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ZooModel:
    """A model of the zoo.

    Attributes:
        title: its name in tables (``"STSTNet"``).
        changes: the settings it sets over the caller's, as a nested mapping (``{"displacement":
            {"name": "optical_strain"}, "fusion": {"name": "ststnet"}}``); a deep model's
            ``features.name`` is reset to ``none`` unless it sets it.
        paper: the paper it comes from, in a few words.
        published: its published MEGC2019 composite scores, ``{"uf1": ..., "uar": ...}`` (empty: none).
        selected: how the published numbers were selected (a validation split, the test subjects,
            or not stated).
    """

    title: str
    changes: Mapping[str, Any]
    paper: str = ""
    published: Mapping[str, float] = field(default_factory=dict)
    selected: str = ""


def models() -> dict[str, ZooModel]:
    """Every registered model of the zoo by name, in registration order.

    Raises:
        PluginError: a plugin registered something that is not a :class:`ZooModel`.
    """
    from mezoo import plugins
    from mezoo.errors import PluginError

    found = {}
    for name, reg in plugins.registrations("model").items():
        model = reg.obj
        if not isinstance(model, ZooModel):
            raise PluginError(f"model {name!r} of plugin {reg.plugin!r} is a {type(model).__name__}, not a "
                              f"mezoo.zoo.ZooModel; fix or uninstall the plugin")
        found[name] = model
    return found


def parse_models(text: str | None) -> list[str]:
    """``"ststnet, LBP-TOP"`` -> ``["ststnet", "lbp_top"]``; ``None`` -> every registered model.

    Raises:
        ConfigError: an unknown model (the message lists the registered ones).
    """
    from mezoo import plugins
    from mezoo.errors import ConfigError

    registered = models()
    if not text:
        return list(registered)
    chosen = [plugins.normalize_name(m) for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in registered]
    if unknown:
        raise ConfigError(f"unknown zoo model {', '.join(unknown)}; registered models: {', '.join(registered)} "
                          f"(see `mezoo zoo --list`)")
    return chosen
