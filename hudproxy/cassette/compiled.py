"""A compiled cache of parsed cassettes, keyed by the file's SHA-256, so a large YAML file parses once.

Stored with `marshal` (plain tuples, bytes and strings: fast, and unable to run code when read) under
`$HUDPROXY_CACHE_DIR` or `~/.cache/hudproxy/compiled`. The YAML/JSON file stays the source of truth: any
change to it changes the hash, and a stale or unreadable cache entry is simply ignored.

An entry is written only after the file passed every check of the loader, and each entry read is checked again
(hudproxy.cassette.values, the recorded policies): one written by an older hudproxy that checked less, or edited
by hand, is ignored, so the cache never returns a cassette the loader would refuse.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

from hudproxy.cassette.mcp_section import still_sound
from hudproxy.cassette.model import FORMAT_VERSION
from hudproxy.cassette.validate import policy_problem
from hudproxy.interaction.model import Chunk, Interaction, Request, Response

CACHE_LAYOUT = 3  # 3: entries hold only checked interactions (values.checked)
MIN_SIZE = 2_000_000  # smaller files parse faster than the cache pays off


def cache_dir() -> Path:
    configured = os.environ.get("HUDPROXY_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hudproxy" / "compiled"


def cache_path(text: bytes) -> Path:
    digest = hashlib.sha256(text).hexdigest()
    return cache_dir() / f"{digest}-f{FORMAT_VERSION}-l{CACHE_LAYOUT}.marshal"


def _flatten(i: Interaction) -> tuple[Any, ...]:
    q, r = i.request, i.response
    chunks = tuple((c.size, c.at_ms) for c in r.chunks)
    return (q.method, q.url, q.headers, q.body, r.status, r.reason, r.headers, r.body, chunks,
            i.recorded_at, i.duration_ms, i.extra)  # fmt: skip


def _inflate(row: tuple[Any, ...], position: int) -> Interaction:
    method, url, qh, qb, status, reason, rh, rb, chunks, recorded_at, duration, extra = row
    return Interaction(
        Request(method, url, qh, qb),
        Response(status, reason, rh, rb, tuple(Chunk(s, a) for s, a in chunks)),
        position,
        recorded_at,
        duration,
        extra,
    )


def read(text: bytes) -> tuple[list[Interaction], dict[str, Any]] | None:
    if len(text) < MIN_SIZE:
        return None
    try:
        meta, rows = marshal.loads(cache_path(text).read_bytes())
        interactions = [_inflate(row, i) for i, row in enumerate(rows)]
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(meta, dict) or not all(still_sound(i) for i in interactions) or policy_problem(meta):
        return None
    return interactions, meta


def write(text: bytes, interactions: list[Interaction], meta: dict[str, Any]) -> None:
    """Best effort: a read-only or full disk only costs the next load its speed."""
    if len(text) < MIN_SIZE:
        return
    target = cache_path(text)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps((meta, [_flatten(i) for i in interactions])))
        os.replace(tmp, target)
    except (OSError, ValueError):
        return
