"""A run directory: the settings it was made with, one file per finished fold, checkpoints.

The layout is :class:`mezoo.layout.RunLayout`. A fold file holds the fold's predictions, losses,
fusion weights, seconds and the fingerprint of the settings that made it; a lock is the operating
system's (gone with the process); a failure file holds a worker's traceback and is removed when the
fold succeeds.

Guarantees:

- every file is written beside its target and renamed into place, so a crash, Ctrl-C or a full
  disk never leaves half a file; files get the usual permissions (``0666`` less the umask);
- a fold is trained by one process at a time: two runs started on one directory share the work
  and each fold is trained once (:meth:`RunDir.lock`);
- only the process that drives the run writes here: fold jobs return their results and weights
  (as bytes), so workers on other machines need no access to this directory;
- a fold file from other settings is never reused, even when ``config.yaml`` was deleted; nor is
  an inner training's result (``--select``), which is trained again instead;
- a damaged file is named in a one-line error with what to do; a filesystem error (read-only,
  full disk) names the path;
- a run that stopped before its first fold (bad data, Ctrl-C during preprocessing) does not
  block a corrected command: its ``config.yaml`` is replaced while no fold is written.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from mezoo.config import load_file
from mezoo.errors import ConfigError, StorageError
from mezoo.files import FILE_MODE, storage_error, write_atomic
from mezoo.layout import RunLayout
from mezoo.loso.folds import Fold, FoldResult
from mezoo.loso.job import InnerResult
from mezoo.settings import Settings, load_settings

#: keys every fold file holds
FOLD_KEYS = ("subject", "keys", "y_pred", "probs", "fingerprint")


class RunDir:
    """The run directory of ``settings`` at ``path``; :meth:`open` checks and claims it."""

    def __init__(self, path: str | Path, settings: Settings):
        self.path = Path(path)
        self.layout = RunLayout(self.path)
        self.settings = settings
        self.fingerprint = settings.fingerprint

    def fold_file(self, fold: Fold) -> Path:
        return self.layout.fold_file(fold.slug)

    def checkpoint(self, fold: Fold) -> Path:
        return self.layout.checkpoint(fold.slug)

    def open(self) -> None:
        """Check that the directory holds nothing from other settings, then write ``config.yaml``.

        Raises:
            StorageError: ``config.yaml`` or a fold file is damaged or from other settings, or the
                directory cannot be written.
        """
        config = self.layout.config
        folds = sorted(self.layout.folds.glob("*.json"))
        if config.exists():
            try:
                old = _fingerprint_of(config)
            except ConfigError as exc:
                if folds:
                    raise StorageError(f"{exc}; it describes the {len(folds)} finished fold(s) in {self.path}: "
                                      f"restore it, or use another --out") from None
                old = None  # nothing finished depends on it: replaced below
            if old is not None and old != self.fingerprint and folds:
                raise StorageError(f"run directory {self.path} holds {len(folds)} finished fold(s) of other settings "
                                  f"(fingerprint {old}, these are {self.fingerprint}); pass another --out, or "
                                  f"delete it to start again")
        for path in folds:  # even without config.yaml, no fold of other settings is taken in
            self._read_fold(path)
        write_atomic(config, self.settings.dump())

    def _read_fold(self, path: Path) -> dict[str, Any]:
        """A fold file made with these settings.

        Raises:
            StorageError: it is damaged, unreadable or from other settings.
        """
        try:
            done = json.loads(path.read_text(encoding="utf-8"))
            missing = [k for k in FOLD_KEYS if k not in done] if isinstance(done, dict) else list(FOLD_KEYS)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StorageError(f"fold file {path} is damaged ({str(exc).splitlines()[0]}); delete it to train that "
                              f"fold again") from None
        except OSError as exc:
            raise StorageError(f"fold file {path} cannot be read: {exc.strerror or exc}") from None
        if missing == ["fingerprint"]:
            raise StorageError(f"fold file {path} was made by an older mezoo that did not record the settings' "
                               f"fingerprint, so it cannot be checked against these settings; pass another --out "
                               f"(or delete the file to train that fold again)")
        if missing:
            raise StorageError(f"fold file {path} is damaged (it lacks {', '.join(missing)}); delete it to train "
                              f"that fold again")
        if done["fingerprint"] != self.fingerprint:
            raise StorageError(f"{path} was made with other settings (fingerprint {done['fingerprint']}, these are "
                               f"{self.fingerprint}); it is never mixed into this run: pass another --out, or delete "
                               f"the file to train that fold again")
        return done

    def finished(self, fold: Fold, keys: list[str]) -> FoldResult | None:
        """The fold's saved result, or ``None`` if it has not finished.

        Raises:
            StorageError: the file is damaged, from other settings, or for other samples.
        """
        path = self.fold_file(fold)
        if not path.exists():
            return None
        done = self._read_fold(path)
        n = len(keys)
        if done["keys"] != keys:
            raise StorageError(f"{path} holds predictions for other samples than subject {fold.subject} has now; the "
                              f"dataset changed since the run started: use another --out")
        if len(done["y_pred"]) != n or len(done["probs"]) != n or any(not isinstance(p, list) for p in done["probs"]):
            raise StorageError(f"fold file {path} is damaged (its predictions do not match its {n} samples); delete "
                              f"it to train that fold again")
        return FoldResult.from_record(done)

    def save(self, fold: Fold, result: FoldResult) -> None:
        """The fold's checkpoint (when the job sent its weights), then its fold file, which marks it finished."""
        if result.checkpoint is not None:
            write_atomic(self.checkpoint(fold), result.checkpoint)
        write_atomic(self.fold_file(fold), json.dumps({**result.record(), "fingerprint": self.fingerprint}))
        self.failure_file(fold).unlink(missing_ok=True)

    def inner_file(self, fold: Fold, name: str) -> Path:
        return self.layout.inner(fold.slug, name)

    def inner_finished(self, fold: Fold, name: str, keys: list[str]) -> InnerResult | None:
        """An inner training's saved result (``name``: :attr:`InnerTask.name`), or ``None`` when it
        has none usable. Unlike a fold file, an inner result that is damaged, from other settings or
        for other samples is not an error: it is only a step towards a fold, so it is trained again
        and overwritten."""
        path = self.inner_file(fold, name)
        try:
            done = json.loads(path.read_text(encoding="utf-8"))
            if (done.get("fingerprint") == self.fingerprint and done.get("keys") == keys
                    and len(done.get("y_pred", ())) == len(keys)):
                return InnerResult(done["keys"], done["y_pred"], done.get("seconds", 0.0))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError):
            pass
        return None

    def save_inner(self, fold: Fold, name: str, result: InnerResult) -> None:
        write_atomic(self.inner_file(fold, name), json.dumps({**dataclasses.asdict(result),
                                                             "fingerprint": self.fingerprint}))

    def failure_file(self, fold: Fold) -> Path:
        return self.layout.failure(fold.slug)

    def save_failure(self, fold: Fold, text: str) -> Path:
        """Why the fold's job failed (e.g. a worker's traceback), kept until the fold succeeds."""
        write_atomic(self.failure_file(fold), text)
        return self.failure_file(fold)

    def lock(self, fold: Fold, wait: bool = False) -> FileLock | None:
        """The fold's lock, held by this process until released; ``None`` when another process holds
        it and ``wait`` is False (with ``wait``: block until that process is done with the fold).

        The lock is the operating system's, on ``locks/<subject>.lock``: released by the OS when the
        process dies, so a crashed run never blocks the next.
        """
        lock_path = self.layout.lock(fold.slug)
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, lock_path.parent) from None
        lock = FileLock(str(lock_path), mode=FILE_MODE)
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            return None
        except OSError as exc:
            raise storage_error(exc, lock_path) from None
        return lock


def _fingerprint_of(path: Path) -> str:
    """The fingerprint of the settings in a run directory's ``config.yaml``.

    Raises:
        ConfigError: the file is not readable YAML of settings (one line, naming it).
    """
    data = load_file(path, "run settings file")
    try:
        return load_settings(overrides=data).fingerprint
    except ConfigError as exc:
        raise ConfigError(f"run settings file {path} is not valid mezoo settings ({exc})") from None
