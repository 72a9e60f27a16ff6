"""Volatile fields: parts of an answer that differ on every call (ids, timestamps, request ids), so a difference
there is not drift. Declared (`--ignore /items/*/updated_at`, `--ignore X-Request-Id`, a file) or learned: the
same read sent twice to the live system, and whatever differs between the two answers is volatile.

Declared pointers apply to every answer. Learned ones apply to the request they were learned from, named by a
route key (`GET /orders/*`: path segments that look like ids are `*`; `tools/call NAME` for MCP), so a field
that changes on one endpoint is still compared on the others. The file (default `<cassette>.volatile.yaml`,
beside the cassette) is plain YAML a person can edit:

    pointers: [/generated_at]
    headers: [location]
    by_request:
      GET /feed: [/request_id, /items/*/id]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hudproxy.drift.jsondiff import diff_json
from hudproxy.drift.pointers import PointerPatterns, generalised
from hudproxy.errors import ConfigError

ID_SEGMENT = re.compile(r"[0-9]+|[A-Za-z]{0,3}[-_]?[0-9]+|[0-9a-fA-F-]{8,}|.*[0-9].*[0-9].*[0-9].*")
VERSION = re.compile(r"v[0-9]+")  # /v1/: part of the route, not an id
KEYS = frozenset({"pointers", "headers", "by_request"})


def route_key(method: str, path: str) -> str:
    """`GET /orders/A1` -> `GET /orders/*`: one key for every id an endpoint is called with."""
    segments = ["*" if ID_SEGMENT.fullmatch(s) and not VERSION.fullmatch(s) else s for s in path.split("/")]
    return f"{method.upper()} {'/'.join(segments) or '/'}"


@dataclass(frozen=True)
class Volatile:
    """JSON pointer patterns (everywhere, and per route key) and header names (lower case) not compared."""

    pointers: PointerPatterns = field(default_factory=PointerPatterns)
    headers: frozenset[str] = frozenset()
    by_request: Mapping[str, PointerPatterns] = field(default_factory=dict)

    @classmethod
    def from_options(cls, values: Iterable[str]) -> Volatile:
        """`--ignore` values: a JSON pointer starts with `/`, anything else is a header name."""
        values = [v.strip() for v in values if v.strip()]
        return cls(
            PointerPatterns.parse(v for v in values if v.startswith("/")),
            frozenset(v.lower() for v in values if not v.startswith("/")),
        )

    def for_request(self, key: str) -> Volatile:
        """What is volatile in the answer to the request with route key `key`."""
        scoped = self.by_request.get(key)
        return Volatile(self.pointers | scoped, self.headers) if scoped else self

    def __or__(self, other: Volatile) -> Volatile:
        merged = dict(self.by_request)
        for key, patterns in other.by_request.items():
            merged[key] = merged[key] | patterns if key in merged else patterns
        return Volatile(self.pointers | other.pointers, self.headers | other.headers, merged)

    def __bool__(self) -> bool:
        return bool(self.pointers) or bool(self.headers) or any(self.by_request.values())

    def to_dict(self) -> dict[str, Any]:
        scoped = {key: self.by_request[key].texts() for key in sorted(self.by_request) if self.by_request[key]}
        return {"pointers": self.pointers.texts(), "headers": sorted(self.headers), "by_request": scoped}


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
    if not isinstance(data, dict) or set(data) - KEYS:
        raise ConfigError(
            f"{path}: expected a mapping with `pointers:`, `headers:` and `by_request:`, e.g. pointers: [/id]"
        )
    scoped = data.get("by_request") or {}
    if not isinstance(scoped, dict):
        raise ConfigError(f"{path}: `by_request:` maps a request (GET /orders/*) to a list of JSON pointers.")
    try:
        return Volatile(
            PointerPatterns.parse(_strings(path, "pointers", data.get("pointers"))),
            frozenset(h.strip().lower() for h in _strings(path, "headers", data.get("headers"))),
            {str(k): PointerPatterns.parse(_strings(path, f"by_request: {k}", v)) for k, v in scoped.items()},
        )
    except ConfigError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ConfigError(f"{path}: {exc}") from None


def _strings(path: Path, key: str, value: Any) -> list[str]:
    value = value or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: `{key}:` must be a list of strings, got {value!r:.60}")
    return value


def dump_volatile(volatile: Volatile) -> str:
    header = "# Volatile fields `hudproxy verify` does not compare (JSON pointers, `*` = any item; header names).\n"
    return header + yaml.safe_dump(volatile.to_dict(), sort_keys=False)


def learned_between(
    key: str, first: Any, second: Any, first_headers: Mapping[str, str], second_headers: Mapping[str, str]
) -> Volatile:
    """What differs between two answers to the same read (route key `key`): JSON pointers (array positions as
    `*`) for that request, and header names."""
    changes = diff_json(first, second).changes
    # a whole body that differs (not JSON, or a bare scalar) names no field: it is not learned, or it would hide all
    pointers = frozenset(generalised(change.path) for change in changes if change.path)
    names = set(first_headers) | set(second_headers)
    headers = frozenset(n for n in names if first_headers.get(n) != second_headers.get(n))
    return Volatile(headers=headers, by_request={key: PointerPatterns(pointers)} if pointers else {})
