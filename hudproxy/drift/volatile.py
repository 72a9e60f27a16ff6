"""Volatile fields: parts of an answer that differ on every call (ids, timestamps, request ids), so a difference
there is not drift. Declared (`--ignore /items/*/updated_at`, `--ignore X-Request-Id`, a file) or learned: the
same read sent twice to the live system, and whatever differs between the two answers is volatile.

The file (default `<cassette>.volatile.yaml`, beside the cassette) is plain YAML a person can edit:

    pointers: [/id, /items/*/seen_at]
    headers: [location]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hudproxy.drift.jsondiff import diff_json
from hudproxy.drift.pointers import PointerPatterns, generalised
from hudproxy.errors import ConfigError


@dataclass(frozen=True)
class Volatile:
    """JSON pointer patterns and header names (lower case) that `verify` does not compare."""

    pointers: PointerPatterns = field(default_factory=PointerPatterns)
    headers: frozenset[str] = frozenset()

    @classmethod
    def from_options(cls, values: Iterable[str]) -> Volatile:
        """`--ignore` values: a JSON pointer starts with `/`, anything else is a header name."""
        values = [v.strip() for v in values if v.strip()]
        return cls(
            PointerPatterns.parse(v for v in values if v.startswith("/")),
            frozenset(v.lower() for v in values if not v.startswith("/")),
        )

    def __or__(self, other: Volatile) -> Volatile:
        return Volatile(self.pointers | other.pointers, self.headers | other.headers)

    def __bool__(self) -> bool:
        return bool(self.pointers) or bool(self.headers)

    def to_dict(self) -> dict[str, list[str]]:
        return {"pointers": self.pointers.texts(), "headers": sorted(self.headers)}


def default_file(cassette: Path) -> Path:
    return cassette.with_name(f"{cassette.stem}.volatile.yaml")


def load_volatile(path: Path) -> Volatile:
    """The file's patterns; ConfigError names the file and what is wrong with it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    if not isinstance(data, dict) or set(data) - {"pointers", "headers"}:
        raise ConfigError(f"{path}: expected a mapping with `pointers:` and `headers:` lists, e.g. pointers: [/id]")
    lists = {key: data.get(key) or [] for key in ("pointers", "headers")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: `{key}:` must be a list of strings, got {value!r:.60}")
    try:
        pointers = PointerPatterns.parse(lists["pointers"])
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Volatile(pointers, frozenset(h.strip().lower() for h in lists["headers"]))


def dump_volatile(volatile: Volatile) -> str:
    header = "# Volatile fields `hudproxy verify` does not compare (JSON pointers, `*` = any item; header names).\n"
    return header + yaml.safe_dump(volatile.to_dict(), sort_keys=False)


def learned_between(first: Any, second: Any, first_headers: dict[str, str], second_headers: dict[str, str]) -> Volatile:
    """What differs between two answers to the same read: JSON pointers (array positions as `*`) and headers."""
    changes = diff_json(first, second).changes
    # a whole body that differs (not JSON, or a bare scalar) names no field: it is not learned, or it would hide all
    pointers = frozenset(generalised(change.path) for change in changes if change.path)
    names = set(first_headers) | set(second_headers)
    headers = frozenset(n for n in names if first_headers.get(n) != second_headers.get(n))
    return Volatile(PointerPatterns(pointers), headers)
