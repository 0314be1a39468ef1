"""Exceptions meant for people: each names the thing that is wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterable


class MezooError(Exception):
    """Base class for errors the command line shows as one clean line."""


class UnknownComponentError(MezooError, KeyError):
    """A component name that no plugin registered.

    Subclasses ``KeyError`` so that code treating the registries as mappings keeps working,
    but prints like an ordinary message (``KeyError`` would quote it).
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(
            f"unknown {kind} {name!r}; expected one of: {', '.join(self.valid) or '(none registered)'}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateComponentError(MezooError):
    """Two plugins registered the same component name."""


class PluginError(MezooError):
    """A plugin failed to load or raised while registering its components."""


class ConfigError(MezooError, ValueError):
    """A setting that cannot be used as given (a ``ValueError`` too, as a bad argument)."""


class DataError(MezooError):
    """A dataset, sample or frame that cannot be read or used."""


class StorageError(MezooError):
    """A file or folder that cannot be written or read as it is (read-only, full disk, damaged)."""


class TrainingError(MezooError):
    """Training could not go on (for example a NaN loss)."""


class MezooWarning(UserWarning):
    """Something the user should know, shown by the command line as one ``Warning:`` line."""
