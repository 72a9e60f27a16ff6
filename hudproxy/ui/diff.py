"""Two runs or two sessions side by side: their calls aligned, the first divergence, and what each saw differently.

Calls are aligned on what the agent asked (kind, method, path, request body) with difflib, so an extra or a
missing call shifts nothing after it. A pair that asked the same but got a different answer is a divergence too:
its response bodies are compared field by field (the state each run saw).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from hudproxy.journal.query import Call

SAME, CHANGED, ANSWER, LEFT, RIGHT = "same", "changed", "answer", "left-only", "right-only"


@dataclass
class Row:
    left: Call | None
    right: Call | None
    state: str  # same | changed (asked differently) | answer (same ask, other answer) | left-only | right-only
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (JSON path, left, right) where they differ


@dataclass
class Diff:
    rows: list[Row]

    @property
    def first_divergence(self) -> int | None:
        return next((n for n, row in enumerate(self.rows) if row.state != SAME), None)

    @property
    def divergences(self) -> int:
        return sum(row.state != SAME for row in self.rows)


def signature(call: Call) -> tuple[str, str, str, str]:
    return (call.kind, call.method, call.path, _canonical(call.request_body))


def answer(call: Call) -> tuple[int, str]:
    return (call.status, _canonical(call.response_body))


def _canonical(body: str | None) -> str:
    try:
        return json.dumps(json.loads(body), sort_keys=True) if body else ""
    except ValueError:
        return body or ""


def align(left: list[Call], right: list[Call]) -> Diff:
    matcher = difflib.SequenceMatcher(None, [signature(c) for c in left], [signature(c) for c in right], autojunk=False)
    rows: list[Row] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(_pair(left[a1 + n], right[b1 + n]) for n in range(a2 - a1))
            continue
        paired = min(a2 - a1, b2 - b1) if op == "replace" else 0
        for n in range(paired):
            a, b = left[a1 + n], right[b1 + n]
            rows.append(Row(a, b, CHANGED, json_differences(_data(a.request_body), _data(b.request_body))))
        rows.extend(Row(c, None, LEFT) for c in left[a1 + paired : a2])
        rows.extend(Row(None, c, RIGHT) for c in right[b1 + paired : b2])
    return Diff(rows)


def _pair(a: Call, b: Call) -> Row:
    if answer(a) == answer(b):
        return Row(a, b, SAME)
    differences = json_differences(_data(a.response_body), _data(b.response_body))
    if a.status != b.status:
        differences.insert(0, ("status", a.status, b.status))
    return Row(a, b, ANSWER, differences)


def _data(body: str | None) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


def json_differences(a: Any, b: Any, path: str = "$", limit: int = 50) -> list[tuple[str, Any, Any]]:
    """(path, left, right) for each leaf that differs; a key one side lacks shows as None there."""
    found: list[tuple[str, Any, Any]] = []
    _walk(a, b, path, found, limit)
    return found


MISSING = None


def _walk(a: Any, b: Any, path: str, found: list[tuple[str, Any, Any]], limit: int) -> None:
    if len(found) >= limit or a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            _walk(a.get(key, MISSING), b.get(key, MISSING), f"{path}.{key}", found, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{n}]", found, limit)
    else:
        found.append((path, a, b))


def field_differences(a: dict[str, Any], b: dict[str, Any], names: list[str]) -> list[tuple[str, Any, Any]]:
    """The named fields of two runs that differ (reward, sub-scores, answer, notes...)."""
    found: list[tuple[str, Any, Any]] = []
    for name in names:
        _walk(a.get(name), b.get(name), name, found, 50)
    return found
