"""A content-keyed cache of arrays on disk, safe against crashes and half-written files.

Entries are ``.npy`` files named by a SHA-256 key of what produced them (settings, sample, frame
content). Each is written to a temporary file and renamed into place, so an interrupted run
leaves no partial entry, and a reader in another process sees the whole entry or none; an entry
that fails to load, or holds an array of another shape than the reader expects, is deleted and
rebuilt. Entries get the usual permissions (``0666`` less the umask), so a shared cache works.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from mezoo.files import write_atomic


def default_cache_dir() -> Path:
    """``$MEZOO_CACHE_DIR``, else ``~/.cache/mezoo``."""
    return Path(os.environ.get("MEZOO_CACHE_DIR") or Path.home() / ".cache" / "mezoo")


def digest(*parts: Any) -> str:
    """A SHA-256 hex key of ``parts``: bytes and arrays by content, anything else by ``repr``."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, bytes):
            h.update(part)
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


class DiskCache:
    """Arrays on disk under ``root/<namespace>/<key[:2]>/<key>.npy``."""

    def __init__(self, root: str | Path | None = None, namespace: str = "arrays"):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.dir = self.root / namespace

    def path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npy"

    def load(self, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
        """The entry, or ``None`` if it is missing, unreadable or not of ``shape`` (then it is removed)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            path.unlink(missing_ok=True)
            return None
        if shape is not None and array.shape != tuple(shape):
            path.unlink(missing_ok=True)
            return None
        return array

    def save(self, key: str, array: np.ndarray) -> None:
        self._write(self.path(key), lambda f: np.save(f, array, allow_pickle=False))

    def load_arrays(self, key: str, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray] | None:
        """A record of named arrays (see :meth:`save_arrays`), or ``None`` if it is missing,
        unreadable, lacks one of the names of ``shapes`` or holds one of another shape (then it is
        removed)."""
        path = self.dir / key[:2] / f"{key}.npz"
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                record = {name: data[name] for name in shapes}
        except Exception:  # truncated or damaged zip (BadZipFile, EOFError, KeyError, ValueError, ...)
            record = None
        if record is None or any(record[n].shape != tuple(s) for n, s in shapes.items()):
            path.unlink(missing_ok=True)
            return None
        return record

    def save_arrays(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store several named arrays as one ``.npz`` entry, atomically."""
        self._write(self.dir / key[:2] / f"{key}.npz", lambda f: np.savez(f, **arrays))

    def _write(self, path: Path, write: Any) -> None:
        def write_file(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                write(f)

        write_atomic(path, write_file, hint=f"set run.cache_dir or MEZOO_CACHE_DIR to a writable folder with space "
                                            f"(the cache is {self.root})")
