"""Writing files safely: atomically, with the usual permissions, with one-line errors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from mezoo.errors import StorageError


def _file_mode() -> int:
    mask = os.umask(0)  # read by setting it (Python has no other way), at import, before threads start
    os.umask(mask)
    return 0o666 & ~mask


#: the mode of the files mezoo writes: what ``open()`` would give (``mkstemp`` alone gives 0600)
FILE_MODE = _file_mode()


def write_atomic(path: str | Path, data: str | bytes | Callable[[Path], None],
                 hint: str = "free space or choose a writable --out") -> None:
    """Write ``data`` (text, bytes, or a function writing the file at the path it is given) beside
    ``path`` and rename it into place: a crash, Ctrl-C or a full disk never leaves half a file, and
    a reader in another process sees the old file or the new one. The file gets :data:`FILE_MODE`.

    Raises:
        StorageError: the folder or file cannot be written (read-only, full disk), naming the path
            and ``hint`` (what to do).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise storage_error(exc, path, hint) from None
    tmp = Path(name)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        # safetensors raises its own SafetensorError (not an OSError) for a full disk
        if isinstance(exc, OSError) or type(exc).__name__ == "SafetensorError":
            raise storage_error(exc, path, hint) from None
        raise


def storage_error(exc: BaseException, path: Path, hint: str = "free space or choose a writable --out") -> StorageError:
    """A one-line error for a file or folder that cannot be written."""
    reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
    return StorageError(f"cannot write {path}: {reason}; {hint} (what was written before is kept)")
