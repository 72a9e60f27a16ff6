"""Checking, before recording starts, that a cassette can be written where the user asked.

The recorder creates the file only when the first interaction arrives (a run that records nothing leaves no
file), so a path that cannot hold a file must be refused at start, in one line, not at the first request.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hudproxy.errors import CassetteError


def check_writable(path: Path) -> list[Path]:
    """Refuse a cassette path that cannot be written (a parent that is a file, a folder that cannot be made or
    written); returns the folders it had to create, so a run that records nothing can remove them again."""
    if path.is_dir():
        raise CassetteError(f"{path}: is a directory; give a cassette file path such as {path / 'cassette.yaml'}.")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise CassetteError(
            f"{path}: cannot hold a cassette, {blocker} is a file, not a folder; choose another --cassette path."
        )
    missing = [p for p in path.parents if not p.exists()][::-1]
    try:
        for folder in missing:
            folder.mkdir()
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        release_folders(path, missing)
        raise CassetteError(
            f"{path}: cannot write a cassette in {path.parent} ({exc.strerror or exc}); "
            "choose another --cassette path or fix the folder's permissions."
        ) from None
    return missing


def release_folders(path: Path, created: list[Path]) -> None:
    """Remove the folders `check_writable` made, if the recording left nothing in them."""
    if path.exists():
        return
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return
