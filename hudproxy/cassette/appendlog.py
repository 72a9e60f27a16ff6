"""The recording log: one JSON line per interaction, appended beside a cassette that cannot be appended to.

A JSON cassette (one document) and a YAML cassette's `mcp:` section (in the middle of the file) cannot grow by
appending, and rewriting them per interaction costs O(n) each time. So the recorder appends each interaction to
`<cassette>.log` (O(1), a complete write before the client is answered) and writes the cassette once at stop,
then removes the log. After a crash the loader merges the log into what the cassette holds.

Line 1 is a header: `{"hudproxy_log": 1, "base": N, "meta": {...}}`, N being how many interactions the cassette
file held when the log started; then `{"http": {...}}` or `{"mcp": {...}}` per interaction, in recorded order, in
the file schema (binary bodies as base64). A line cut by a crash is dropped with one warning.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hudproxy.cassette.atomic import append_whole, write_all
from hudproxy.cassette.convert import Malformed, interaction_from_dict, interaction_to_file
from hudproxy.cassette.mcp_section import mcp_from_dict, mcp_to_file
from hudproxy.interaction.mcp import is_mcp
from hudproxy.interaction.model import Interaction

log = logging.getLogger("hudproxy.cassette")
LOG_VERSION = 1


def log_path(cassette: Path) -> Path:
    return cassette.with_name(cassette.name + ".log")


def entry_line(interaction: Interaction) -> bytes:
    """One interaction as one log line; raises TypeError/ValueError for a value that cannot be serialised."""
    if is_mcp(interaction):
        entry = {"mcp": mcp_to_file(interaction)}
    else:
        entry = {"http": interaction_to_file(interaction, binary_as_base64=True)}
    return orjson.dumps(entry) + b"\n"


class AppendLog:
    """An open recording log; `append` hands a whole line to the OS or leaves the file as it was."""

    def __init__(self, path: Path, base: int, meta: dict[str, Any]) -> None:
        self.path = path
        header = orjson.dumps({"hudproxy_log": LOG_VERSION, "base": base, "meta": meta}) + b"\n"
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        try:
            write_all(self.fd, header)
        except BaseException:
            os.close(self.fd)
            path.unlink(missing_ok=True)
            raise
        self.size = len(header)

    def append(self, line: bytes) -> None:
        self.size = append_whole(self.fd, line, self.size)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class LogContents:
    """What a recording log holds: interactions numbered from `base`, and where a torn tail began (if any)."""

    base: int
    meta: dict[str, Any]
    interactions: list[Interaction] = field(default_factory=list)
    torn_at: int | None = None


def read_log(path: Path) -> LogContents | None:
    """The log beside a cassette, or None when there is none (or it holds not even its header)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # a path under a file holds no log either
        return None
    except OSError as exc:
        log.warning("%s: the recording log cannot be read (%s); ignored.", path, exc.strerror)
        return None
    lines = data.split(b"\n")
    header = _parse_line(lines[0]) if len(lines) > 1 else None
    if not isinstance(header, dict) or header.get("hudproxy_log") != LOG_VERSION:
        return None
    contents = LogContents(int(header.get("base") or 0), dict(header.get("meta") or {}))
    offset = len(lines[0]) + 1
    for raw in lines[1:-1]:  # the part after the last newline is a line the crash cut (or empty)
        interaction = _interaction(_parse_line(raw), contents.base + len(contents.interactions))
        if interaction is None:
            contents.torn_at = offset
            return contents
        contents.interactions.append(interaction)
        offset += len(raw) + 1
    if lines[-1]:
        contents.torn_at = offset
    return contents


def _parse_line(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _interaction(entry: Any, position: int) -> Interaction | None:
    if not isinstance(entry, dict):
        return None
    try:
        if "http" in entry:
            return interaction_from_dict(entry["http"], position)
        if "mcp" in entry:
            return mcp_from_dict(entry["mcp"], position)
    except (Malformed, KeyError, TypeError, ValueError):
        return None
    return None
