"""The folds of each evaluation protocol and what a fold's job gives back.

- ``loso``: one fold per subject (scikit-learn's ``LeaveOneGroupOut`` over subjects);
- ``leave_one_database_out``: one fold per dataset part (``LeaveOneGroupOut`` over parts);
- ``cross_dataset``: one fold, training on the parts ``protocol.train`` names and testing on
  those ``protocol.test`` names.

A fold's test side is only ever predicted: nothing of it (labels, frames for self-supervision)
reaches its training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut


@dataclass(frozen=True)
class Fold:
    """A fold's name and the sample indices of each side. The name is what the fold tests: its
    subject (``casme2/sub01``) in LOSO, its dataset part (``samm``) when leaving databases out,
    ``casme2 -> samm`` across datasets; the fold's seed, files and lock follow it."""

    subject: str
    train: np.ndarray
    test: np.ndarray

    @property
    def slug(self) -> str:
        """The name as a file name: ``casme2/sub01`` -> ``casme2__sub01``, ``casme2 -> samm`` -> ``casme2_to_samm``."""
        return self.subject.replace(" -> ", "_to_").replace("/", "__").replace("+", "_and_")


def check_protocol(protocol: Any, parts: Sequence[str]) -> None:
    """That ``protocol`` (:class:`~mezoo.settings.ProtocolSettings`) can run on samples of the
    dataset ``parts`` (one entry per sample): before any frame is read.

    Raises:
        ConfigError: one line naming what is wrong and the parts there are.
    """
    from mezoo.errors import ConfigError

    there = sorted(set(parts))
    listed = ", ".join(there)
    if protocol.name != "cross_dataset" and (protocol.train or protocol.test):
        raise ConfigError(f"protocol.train and protocol.test are for protocol.name=cross_dataset; this run's protocol is "
                          f"{protocol.name}: leave them empty")
    if protocol.name == "leave_one_database_out" and len(there) < 2:
        raise ConfigError(f"leave_one_database_out needs a dataset of at least 2 parts (e.g. --dataset megc2019); "
                          f"this one has {len(there)}: {listed}")
    if protocol.name == "cross_dataset":
        for side in ("train", "test"):
            chosen = getattr(protocol, side)
            if not chosen:
                raise ConfigError(f"cross_dataset needs protocol.{side}: the dataset parts to {side} on, e.g. "
                                  f"--set protocol.{side}=[{there[0]}] (this dataset's parts: {listed})")
            unknown = [p for p in chosen if p not in there]
            if unknown:
                raise ConfigError(f"protocol.{side} names {', '.join(unknown)}, which this dataset has no samples of; "
                                  f"its parts: {listed}")
        both = sorted(set(protocol.train) & set(protocol.test))
        if both:
            raise ConfigError(f"protocol.train and protocol.test both name {', '.join(both)}: a part is either "
                              f"trained on or tested on")


def protocol_folds(protocol: Any, groups: Sequence[str], parts: Sequence[str]) -> list[Fold]:
    """The folds of ``protocol`` over samples of LOSO ``groups`` and dataset ``parts`` (see the module
    docstring), checked by :func:`check_protocol`."""
    check_protocol(protocol, parts)
    if protocol.name == "loso":
        return loso_folds(groups)
    parts = np.asarray(parts)
    if protocol.name == "leave_one_database_out":
        return loso_folds(parts)
    train = np.flatnonzero(np.isin(parts, protocol.train))
    test = np.flatnonzero(np.isin(parts, protocol.test))
    return [Fold(subject=protocol.sides, train=train, test=test)]


def loso_folds(groups: Sequence[str]) -> list[Fold]:
    """Leave-one-subject-out folds over ``groups`` (one entry per sample), in sorted subject order."""
    groups = np.asarray(groups)
    folds = []
    for train, test in LeaveOneGroupOut().split(np.zeros(len(groups)), groups=groups):
        folds.append(Fold(subject=str(groups[test[0]]), train=train, test=test))
    return sorted(folds, key=lambda f: f.subject)


@dataclass
class FoldResult:
    """What one fold's job gives back: the test subject's predictions, the training losses, the
    seconds it took, the fusion weights on the test subject (Fu-B-Attn heads; else empty), the
    settings chosen inside the fold (``protocol.select``) and, when ``run.checkpoints`` is on, the
    trained weights as safetensors bytes (they travel back to the
    process that writes the run directory, so workers need no shared filesystem)."""

    subject: str
    keys: list[str]
    y_pred: list[int]
    probs: list[list[float]]
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    fusion_weights: dict[str, Any] = field(default_factory=dict)
    checkpoint: bytes | None = field(default=None, repr=False)
    #: ``protocol.select``: the settings chosen inside the fold, and each candidate's inner score
    selected: dict[str, Any] = field(default_factory=dict)
    inner: list[dict[str, Any]] = field(default_factory=list)
    #: where the fold ran, when the executor tells (Ray: its node's ID, host name and IP)
    node: dict[str, str] | None = None
    #: why each earlier try of the fold's task failed (a worker or node that died, ...)
    retried: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The fold file's content (``folds/<subject>.json``, less the fingerprint the run directory adds)."""
        out = {"subject": self.subject, "keys": self.keys, "y_pred": self.y_pred, "probs": self.probs,
               "train_loss": self.train_loss, "seconds": self.seconds}
        if self.fusion_weights:
            out["fusion_weights"] = self.fusion_weights
        if self.selected:
            out["selected"], out["inner"] = self.selected, self.inner
        if self.node:
            out["node"] = self.node
        if self.retried:
            out["retried"] = self.retried
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FoldResult:
        """A fold file's content read back (checked by :meth:`mezoo.loso.rundir.RunDir.finished`)."""
        return cls(subject=record["subject"], keys=record["keys"], y_pred=record["y_pred"], probs=record["probs"],
                   train_loss=record.get("train_loss", []), seconds=float(record.get("seconds", 0.0)),
                   fusion_weights=record.get("fusion_weights", {}), selected=record.get("selected", {}),
                   inner=record.get("inner", []), node=record.get("node"), retried=record.get("retried", []))
