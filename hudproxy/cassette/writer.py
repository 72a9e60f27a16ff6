"""Write-before-answer cassette writing while recording.

`append` hands the finished interaction to the OS (one complete, length-checked write of one JSON line to the
recording log beside the cassette, see appendlog.py) and only then returns, so the adapter answers the client
after its interaction is on disk: a SIGKILL never loses a response a client received. fsync is batched on a
background thread (group commit, see groupcommit.py) and done at stop, so a power loss loses at most the last
batch. A log line costs tens of microseconds, whatever the cassette's format, so the request path never waits
on YAML.

The cassette itself:
- YAML (HTTP only) grows by appending items on a background thread, each append ending with a marker line that
  lets the loader drop a torn tail (see tail.py); the first write rewrites the file whole. The file always
  holds a prefix of what the log holds; at stop, once the file holds everything and is synced, the log goes.
- JSON, and YAML once an MCP exchange arrives (its section is mid-file), are written once, whole, at stop.
After a crash the loader merges the log into what the file holds (the overlap is skipped), see files.py.

A write that fails (disk full, permission, a value that cannot be serialised) raises CassetteWriteError for
that interaction (its client gets a 5xx), is logged at ERROR, leaves the files as they were, and makes `close`
raise at stop; later interactions are still written if they can be.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import yaml

from hudproxy.cassette.appendlog import AppendLog, entry_line, log_path
from hudproxy.cassette.atomic import append_whole, atomic_write
from hudproxy.cassette.files import dumps_cassette, dumps_yaml_items, is_json_path
from hudproxy.cassette.groupcommit import DEFAULT_INTERVAL, GroupCommit
from hudproxy.cassette.json_binary import warn_binary_bodies
from hudproxy.cassette.model import Cassette
from hudproxy.cassette.tail import end_marker, without_markers
from hudproxy.cassette.values import unsendable
from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.mcp import is_mcp
from hudproxy.interaction.model import Interaction

log = logging.getLogger("hudproxy.record")
UNSERIALISABLE = (TypeError, ValueError, OverflowError, RecursionError, yaml.YAMLError)
_WHY = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file is too large for this file system or limit",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.EIO: "an I/O error",
}


class CassetteWriter:
    """A growing cassette on disk; `append` returns once the interaction is written (not yet fsynced)."""

    def __init__(
        self, cassette: Cassette, path: str | Path, on_disk: int = 0, sync_interval: float = DEFAULT_INTERVAL
    ) -> None:
        """`on_disk`: how many of `cassette`'s interactions the file already holds (a cassette loaded from it)."""
        self.cassette = cassette
        self.path = Path(path)
        self.failures: list[str] = []
        self._json = is_json_path(self.path)
        self._lock = threading.Lock()
        self._log: AppendLog | None = None
        self._closed = False
        # the YAML file, extended in the background: how many interactions it holds, and those still to add
        self._in_file = on_disk
        self._appending = not self._json
        self._pending: deque[Interaction] = deque()
        self._yaml_fd: int | None = None
        self._size = 0  # bytes of the YAML file known complete: a failed append is cut back to this
        self._wake = threading.Event()
        self._stopping = False
        self._commit = GroupCommit(self._open_fds, self.failures.append, sync_interval)
        self._thread: threading.Thread | None = None
        if self._appending:
            self._thread = threading.Thread(target=self._extend_yaml, name="hudproxy-cassette-writer", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------ the request path

    def append(self, interaction: Interaction) -> Interaction:
        """Number the interaction, write it, return it; raises CassetteWriteError when it is not on disk."""
        with self._lock:
            numbered = replace(interaction, index=len(self.cassette.interactions))
            try:
                if self._closed:
                    raise CassetteWriteError(f"{self.path}: the recording has stopped; nothing more is written.")
                self._loadable(numbered)
                line = self._serialised(numbered, lambda: entry_line(numbered))
                self._on_os(numbered, self._append_to_log, line)
            except CassetteWriteError as exc:
                self.failures.append(str(exc))
                log.error("NOT RECORDED: %s", exc)
                raise
            self.cassette.interactions.append(numbered)
            if self._json:
                warn_binary_bodies(self.path, self.cassette.interactions)  # said as the body is written
            if self._appending and is_mcp(numbered):
                self._appending = False  # the `mcp:` section is mid-file: the whole file is written at stop
            if self._appending:
                self._pending.append(numbered)
                self._wake.set()
        self._commit.written()
        return numbered

    def _append_to_log(self, line: bytes) -> None:
        if self._log is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._log = AppendLog(log_path(self.path), len(self.cassette.interactions), dict(self.cassette.meta))
            _sync_folder(self.path.parent)
        self._log.append(line)

    def _loadable(self, interaction: Interaction) -> None:
        """The loader's own value checks, before writing: an answer it would refuse (an upstream's status 999, a
        control character in a header) is not written, or the whole cassette would never load again."""
        problem = unsendable(interaction)
        if problem is not None:
            raise CassetteWriteError(
                f"{self.path}: interaction #{interaction.index} ({interaction.request.describe()}) is not recorded: "
                f"{problem} (a cassette holding it would not load)"
            )

    def _serialised(self, interaction: Interaction, dump: Callable[[], bytes]) -> bytes:
        try:
            return dump()
        except UNSERIALISABLE as exc:
            raise CassetteWriteError(
                f"{self.path}: interaction #{interaction.index} ({interaction.request.describe()}) cannot be "
                f"serialised: {type(exc).__name__}: {exc}"
            ) from exc

    def _on_os(self, interaction: Interaction, write: Callable[[bytes], None], payload: bytes) -> None:
        try:
            write(payload)
        except OSError as exc:
            raise CassetteWriteError(
                f"{self.path}: interaction #{interaction.index} ({interaction.request.describe()}) could not be "
                f"written: {describe_os_error(exc)}"
            ) from exc

    def _open_fds(self) -> list[int]:
        fds = [self._yaml_fd, self._log.fd if self._log is not None else None]
        return [fd for fd in fds if fd is not None]

    # ------------------------------------------------------------ the YAML file, in the background

    def _extend_yaml(self) -> None:
        """Append logged interactions to the YAML file in order; on any failure stop appending (the log holds
        them all) and leave the whole file to the stop."""
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._pending and self._appending:
                interaction = self._pending[0]
                try:
                    if self._yaml_fd is None:
                        self._write_yaml_whole(self.cassette.interactions[: interaction.index + 1])
                    else:
                        payload = dumps_yaml_items([interaction])
                        self._append_to_yaml(payload + end_marker(self._size + len(payload)))
                except Exception as exc:  # the thread must never die silently: the stop writes the file whole
                    log.error(
                        "%s: could not be extended (%s: %s); the recording goes on in %s and the cassette is "
                        "written whole at stop.",
                        self.path, type(exc).__name__, exc, log_path(self.path),
                    )  # fmt: skip
                    self._appending = False
                    break
                self._in_file = interaction.index + 1
                self._pending.popleft()
                self._commit.written()
            if self._stopping:
                return

    def _write_yaml_whole(self, everything: list[Interaction]) -> None:
        """The first write (and a recovery's): the file whole, atomically, then kept open for appends."""
        payload = dumps_cassette(Cassette(everything, self.cassette.meta, self.path), json_format=False)
        payload += end_marker(len(payload))
        if self._yaml_fd is not None:
            os.close(self._yaml_fd)
            self._yaml_fd = None
        atomic_write(self.path, payload)
        _sync_folder(self.path.parent)
        self._yaml_fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = len(payload)

    def _append_to_yaml(self, payload: bytes) -> None:
        assert self._yaml_fd is not None
        self._size = append_whole(self._yaml_fd, payload, self._size)

    # ------------------------------------------------------------ start and stop

    def consolidate(self) -> None:
        """After a recovery at load (a torn tail dropped, a log merged): write the cassette whole and remove
        the log, so this recording continues a clean file."""
        with self._lock:
            try:
                if self._json:
                    self._write_whole_json()
                else:
                    self._write_yaml_whole(list(self.cassette.interactions))
                    self._in_file = len(self.cassette.interactions)
                log_path(self.path).unlink(missing_ok=True)
            except (OSError, *UNSERIALISABLE) as exc:
                reason = describe_os_error(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
                raise CassetteWriteError(f"{self.path}: the recovered cassette cannot be written: {reason}") from exc

    def flush(self) -> None:
        """Everything appended is already with the OS (in the log): wait until the YAML file holds it too, then
        make both durable now (fsync). Tests and tools use it; recording never waits on it."""
        while self._pending and self._appending and self._thread is not None and self._thread.is_alive():
            time.sleep(0.001)
        self._commit.sync_now()

    def close(self) -> None:
        """Finish the file, sync, drop the log, and raise CassetteWriteError if anything was lost."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join()
        self._commit.stop()
        with self._lock:
            if self._log is not None:
                self._finish()
            if self._yaml_fd is not None:
                os.close(self._yaml_fd)
                self._yaml_fd = None
        if self.failures:
            first = self.failures[0]
            more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            raise CassetteWriteError(f"the recording is incomplete: {first}{more}")

    def _finish(self) -> None:
        """The cassette holds everything (appended and synced, or written whole now); then the log goes."""
        assert self._log is not None
        self._log.close()
        try:
            if self._in_file < len(self.cassette.interactions):
                if self._json:
                    self._write_whole_json()
                else:
                    payload = dumps_cassette(Cassette(self.cassette.interactions, self.cassette.meta), False)
                    atomic_write(self.path, payload)
            elif not self._json:
                atomic_write(self.path, without_markers(self.path.read_bytes()))  # a clean stop needs none
            self._log.path.unlink()
            _sync_folder(self.path.parent)
        except (OSError, *UNSERIALISABLE) as exc:
            reason = describe_os_error(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
            message = (
                f"{self.path}: could not be written at stop ({reason}); every interaction is kept in "
                f"{self._log.path}, and loading or recording {self.path.name} again recovers them."
            )
            log.error("%s", message)
            self.failures.append(message)
        self._log = None

    def _write_whole_json(self) -> None:
        atomic_write(self.path, dumps_cassette(Cassette(self.cassette.interactions, self.cassette.meta), True))


def describe_os_error(exc: OSError) -> str:
    why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{why} ({errno.errorcode.get(exc.errno or 0, 'error')})"


def _sync_folder(folder: Path) -> None:
    """A new file's name survives power loss only once its folder is synced (best effort: not every FS can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
