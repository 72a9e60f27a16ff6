"""File writes that never leave half a payload unnoticed: a complete write loop, and atomic replacement."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, so never toggle it from a thread


def _file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new one gets the usual 0666 minus umask (mkstemp's is 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def write_all(fd: int, payload: bytes) -> None:
    """Hand every byte of `payload` to the OS: `os.write` may take fewer bytes than given (a signal, a nearly
    full disk), so loop until all went out; a write that takes nothing is an error, never an endless loop."""
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(28, "no space left on device (the write took 0 bytes)")
        view = view[written:]


def append_whole(fd: int, payload: bytes, complete: int) -> int:
    """Append `payload` whole, or cut the file back to `complete` bytes (what was known whole) and raise: a
    failed append never leaves half an item for the next one to follow. Returns the new complete size."""
    try:
        write_all(fd, payload)
    except OSError:
        os.ftruncate(fd, complete)
        raise
    return complete + len(payload)


def atomic_write(target: Path, payload: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _file_mode(target))
        try:
            write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
