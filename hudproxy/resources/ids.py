"""What an id looks like, and how to invent the next one in the same style.

Kinds: `integer` (`42`), `uuid`, `prefixed` (a short prefix then a number: `A1`, `ord_12`, `usr-0042`), `hex`
(long lowercase hex, e.g. Mongo ObjectIds). Anything else is not taken for an id by its looks alone.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

INTEGER = re.compile(r"[0-9]{1,18}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PREFIXED = re.compile(r"([A-Za-z][A-Za-z_\-]{0,11}?)([0-9]{1,12})")
HEX = re.compile(r"[0-9a-f]{16,64}")


def id_kind(value: str) -> str | None:
    """`integer`, `uuid`, `prefixed`, `hex`, or None when the value does not look like an id."""
    if INTEGER.fullmatch(value):
        return "integer"
    if PREFIXED.fullmatch(value):
        return "prefixed"
    if len(value) == 36 and UUID.fullmatch(value):
        return "uuid"
    if HEX.fullmatch(value) and any(c.isdigit() for c in value):
        return "hex"
    return None


def natural_key(value: str) -> tuple[str, int, str]:
    """Sort `A2` before `A11` and `9` before `10`; anything else by its text."""
    if INTEGER.fullmatch(value):
        return ("", int(value), "")
    found = PREFIXED.fullmatch(value)
    if found:
        return (found.group(1), int(found.group(2)), "")
    return ("\uffff", 0, value)


@dataclass(frozen=True)
class IdStyle:
    """How new ids look: the kind, and for `prefixed` the prefix and zero-padded width (0: no padding)."""

    kind: str  # integer | uuid | prefixed | hex | request | unknown
    prefix: str = ""
    width: int = 0
    hex_length: int = 24
    numeric: bool = False  # the id field holds a JSON number, not a string

    def describe(self) -> str:
        if self.kind == "prefixed":
            padded = f", {self.width} digits" if self.width else ""
            return f"prefix {self.prefix!r} + number{padded}"
        if self.kind == "integer":
            return "integer sequence" + (" (JSON number)" if self.numeric else " (string)")
        if self.kind == "request":
            return "taken from the request body"
        return self.kind

    def number(self, value: str) -> int | None:
        """The sequence number inside an id of this style (None when it has none)."""
        if self.kind == "integer" and INTEGER.fullmatch(value):
            return int(value)
        if self.kind == "prefixed":
            found = PREFIXED.fullmatch(value)
            if found and found.group(1) == self.prefix:
                return int(found.group(2))
        return None

    def format(self, number: int) -> str:
        if self.kind == "prefixed":
            return f"{self.prefix}{number:0{self.width}d}" if self.width else f"{self.prefix}{number}"
        return str(number)

    def random(self, seed: int, session: str, resource: str, counter: int) -> str:
        """A uuid or hex id that is the same for the same seed, session, resource and count."""
        digest = hashlib.sha256(f"{seed}:{session}:{resource}:{counter}".encode()).digest()
        if self.kind == "uuid":
            return str(uuid.UUID(bytes=digest[:16], version=4))
        return digest.hex()[: self.hex_length]

    @property
    def sequential(self) -> bool:
        return self.kind in ("integer", "prefixed")


def infer_style(values: Iterable[str], numeric: bool = False) -> IdStyle:
    """The one style all `values` share (the most common prefix for prefixed ids), or `unknown`."""
    kinds: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    widths: set[int] = set()
    hex_lengths: set[int] = set()
    for value in values:
        kind = id_kind(value) or "unknown"
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "prefixed":
            found = PREFIXED.fullmatch(value)
            assert found is not None
            prefixes[found.group(1)] = prefixes.get(found.group(1), 0) + 1
            digits = found.group(2)
            widths.add(len(digits) if digits.startswith("0") else 0)
        elif kind == "hex":
            hex_lengths.add(len(value))
    if not kinds:
        return IdStyle("unknown")
    kind = max(kinds, key=kinds.__getitem__)
    if kind == "prefixed":
        width = max(widths) if len(widths) == 1 or 0 not in widths else 0
        return IdStyle(kind, max(prefixes, key=prefixes.__getitem__), width)
    if kind == "hex":
        return IdStyle(kind, hex_length=max(hex_lengths))
    return IdStyle(kind, numeric=numeric and kind == "integer")
