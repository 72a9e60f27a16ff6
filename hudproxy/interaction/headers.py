"""Headers as an ordered tuple of (name, value) pairs: duplicates, order and case all survive."""

from __future__ import annotations

from collections.abc import Iterable

Headers = tuple[tuple[str, str], ...]


def header_value(headers: Headers, name: str, default: str | None = None) -> str | None:
    """First value of `name` (case-insensitive)."""
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return default


def without_headers(headers: Headers, names: Iterable[str]) -> Headers:
    """A copy without the named headers (case-insensitive)."""
    drop = {n.lower() for n in names}
    return tuple((k, v) for k, v in headers if k.lower() not in drop)


def replace_header(headers: Headers, name: str, value: str) -> Headers:
    """Set `name` to one value, keeping its first position (or appending it)."""
    lowered = name.lower()
    out: list[tuple[str, str]] = []
    placed = False
    for key, old in headers:
        if key.lower() != lowered:
            out.append((key, old))
        elif not placed:
            out.append((key, value))
            placed = True
    if not placed:
        out.append((name, value))
    return tuple(out)
