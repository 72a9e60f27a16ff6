"""A compiled cache of parsed cassettes, keyed by the file's SHA-256, so a large cassette parses once and a
replay server opens it by memory-mapping, whatever its size.

An entry is an *image*: a header (the cassette's `hudproxy` meta, each interaction's method and URL), a table of
offsets, then each interaction as a `marshal` row (plain tuples, bytes and strings: fast, and unable to run code
when read). `LazyInteractions` slices a row out of the map only when an interaction is first asked for, so
start-up does not grow with the cassette and memory grows with what is served, not with what is recorded.

Stored under `$HUDPROXY_CACHE_DIR` or `~/.cache/hudproxy/compiled`. The YAML/JSON file stays the source of
truth: any change to it changes the hash, and a stale or unreadable entry is simply ignored. To open a big file
without reading and hashing it, an alias named by the file's identity (path, device, inode, size, mtime in ns)
points at its entry; any write to the file changes the identity.

An entry is written only after the file passed every check of the loader. `read` (the eager load) checks each
entry row again (hudproxy.cassette.values, the recorded policies), so one written by an older hudproxy or edited
by hand is ignored; the lazy open checks the header and each row as it is inflated, and a row that fails is a
CassetteError naming the entry to delete.
"""

from __future__ import annotations

import hashlib
import marshal
import mmap
import os
import struct
from pathlib import Path
from typing import Any

from hudproxy.cassette.lazy import LazyInteractions, inflate
from hudproxy.cassette.mcp_section import still_sound
from hudproxy.cassette.model import FORMAT_VERSION
from hudproxy.cassette.validate import policy_problem
from hudproxy.interaction.model import Interaction

CACHE_LAYOUT = 4  # 4: a memory-mappable image (header, offsets, rows); 3: one marshal blob
MIN_SIZE = 2_000_000  # smaller files parse faster than the cache pays off
MAGIC = b"HUDPXIM4"
PREFIX = struct.Struct("<8sQ")  # magic, header length


def cache_dir() -> Path:
    configured = os.environ.get("HUDPROXY_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hudproxy" / "compiled"


def digest_of(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def entry_path(digest: str) -> Path:
    return cache_dir() / f"{digest}-f{FORMAT_VERSION}-l{CACHE_LAYOUT}.image"


def cache_path(text: bytes) -> Path:
    return entry_path(digest_of(text))


def alias_path(source: Path) -> Path | None:
    """Where the alias for this file's present identity lives (None when the file cannot be stat'ed)."""
    try:
        st = source.stat()
    except OSError:
        return None
    identity = f"{source.resolve()}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}"
    return cache_dir() / "by-identity" / f"{hashlib.sha256(identity.encode()).hexdigest()[:40]}.alias"


def flatten(i: Interaction) -> tuple[Any, ...]:
    q, r = i.request, i.response
    chunks = tuple((c.size, c.at_ms) for c in r.chunks)
    return (q.method, q.url, q.headers, q.body, r.status, r.reason, r.headers, r.body, chunks,
            i.recorded_at, i.duration_ms, i.extra)  # fmt: skip


# ---------------------------------------------------------------------------------------------- reading


def read(text: bytes, digest: str | None = None) -> tuple[list[Interaction], dict[str, Any]] | None:
    """The whole cassette from its entry, every row checked again (the eager load); None to parse the file.
    `digest`: `digest_of(text)` when the caller has it (a big file is hashed once per load, not per call)."""
    if len(text) < MIN_SIZE:
        return None
    opened = _open(entry_path(digest or digest_of(text)))
    if opened is None:
        return None
    lazy, meta = opened
    try:
        interactions = [lazy.inflate_unchecked(i) for i in range(len(lazy))]
    except (EOFError, ValueError, TypeError):
        return None
    finally:
        lazy.close()
    if not all(still_sound(i) for i in interactions):
        return None
    return interactions, meta


def open_lazy(source: Path) -> tuple[LazyInteractions, dict[str, Any], str] | None:
    """The entry of `source` as it is on disk now, found by its identity without reading the file; None when
    there is none (the caller then reads, hashes and parses the file as usual)."""
    alias = alias_path(source)
    if alias is None:
        return None
    try:
        digest = alias.read_text(encoding="ascii").strip()
    except OSError:
        return None
    opened = _open(entry_path(digest))
    return None if opened is None else (*opened, digest)


def _open(path: Path) -> tuple[LazyInteractions, dict[str, Any]] | None:
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        magic, header_length = PREFIX.unpack_from(mapped, 0)
        if magic != MAGIC:
            raise ValueError("not an image")
        meta, methods, urls = marshal.loads(mapped[PREFIX.size : PREFIX.size + header_length])
        if not isinstance(meta, dict) or policy_problem(meta) or len(methods) != len(urls):
            raise ValueError("a bad header")
        lazy = LazyInteractions(mapped, PREFIX.size + header_length, methods, urls, str(path))
    except (struct.error, EOFError, ValueError, TypeError):
        mapped.close()
        return None
    return lazy, meta


# ---------------------------------------------------------------------------------------------- writing


def write(
    text: bytes, interactions: list[Interaction], meta: dict[str, Any], source: Path | None = None,
    digest: str | None = None,
) -> None:  # fmt: skip
    """Best effort: a read-only or full disk only costs the next load its speed. `source`: the file `text` was
    read from, so the next replay of it finds the entry without reading it (its alias)."""
    if len(text) < MIN_SIZE:
        return
    digest = digest or digest_of(text)
    target = entry_path(digest)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_image(target, interactions, meta)
        if source is not None:
            _write_alias(source, digest)
    except (OSError, ValueError):
        return


def remember(source: Path, text: bytes, digest: str | None = None) -> None:
    """`source` (read as `text`) has an entry already: name it by the file's present identity too."""
    if len(text) < MIN_SIZE:
        return
    try:
        _write_alias(source, digest or digest_of(text))
    except OSError:
        return


def _write_image(target: Path, interactions: list[Interaction], meta: dict[str, Any]) -> None:
    header = marshal.dumps((meta, [i.request.method for i in interactions], [i.request.url for i in interactions]))
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as out:
        out.write(PREFIX.pack(MAGIC, len(header)))
        out.write(header)
        rows = [marshal.dumps(flatten(i)) for i in interactions]
        offsets, at = [0], 0
        for row in rows:
            at += len(row)
            offsets.append(at)
        out.write(struct.pack(f"<{len(offsets)}Q", *offsets))
        for row in rows:
            out.write(row)
    os.replace(tmp, target)


def _write_alias(source: Path, digest: str) -> None:
    alias = alias_path(source)
    if alias is None:
        return
    alias.parent.mkdir(parents=True, exist_ok=True)
    tmp = alias.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(digest, encoding="ascii")
    os.replace(tmp, alias)


__all__ = ["LazyInteractions", "cache_dir", "cache_path", "inflate", "open_lazy", "read", "remember", "write"]
