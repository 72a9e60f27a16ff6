"""Field-by-field differences between two JSON documents, each named by a JSON pointer.

Breaking, for a client written against the recording: a field it read is gone (`removed` from an object), or
holds another JSON type (`type_changed`). A new field, a new value, or a list of another length is drift a client
survives. Integers and decimals are both `number` (10 -> 10.5 is a value change, not a type change).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hudproxy.drift.pointers import PointerPatterns, pointer


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    TYPE_CHANGED = "type_changed"
    VALUE_CHANGED = "value_changed"


@dataclass(frozen=True)
class Change:
    """One difference at `path` (segments; `pointer` is its text); `before`/`after` are the JSON values."""

    path: tuple[str, ...]
    kind: ChangeKind
    before: Any = None
    after: Any = None
    breaking: bool = False

    @property
    def pointer(self) -> str:
        return pointer(self.path)

    def describe(self) -> str:
        """One line for the table: `- /customer removed`, `~ /total number -> string`."""
        where = self.pointer or "(body)"
        if self.kind is ChangeKind.ADDED:
            return f"+ {where} added ({json_type(self.after)})"
        if self.kind is ChangeKind.REMOVED:
            return f"- {where} removed ({json_type(self.before)})"
        if self.kind is ChangeKind.TYPE_CHANGED:
            return f"~ {where} {json_type(self.before)} -> {json_type(self.after)}"
        return f"~ {where} {short(self.before)} -> {short(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "kind": self.kind.value,
            "before": clipped(self.before),
            "after": clipped(self.after),
            "breaking": self.breaking,
        }


REPORTED_TEXT = 2000  # a whole page that replaced a JSON body is reported by its start, not in full


def clipped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > REPORTED_TEXT:
        return value[:REPORTED_TEXT] + f"... ({len(value)} characters)"
    return value


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def short(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else json_type(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Diff:
    """The changes found, and how many differences the ignore patterns hid (volatile fields)."""

    changes: list[Change]
    ignored: int = 0

    @property
    def breaking(self) -> bool:
        return any(c.breaking for c in self.changes)


NOTHING_IGNORED = PointerPatterns()


def diff_json(before: Any, after: Any, ignore: PointerPatterns = NOTHING_IGNORED) -> Diff:
    """Every difference between `before` (recorded) and `after` (live), outside the `ignore` patterns."""
    found = Diff([])
    _walk(before, after, (), ignore, found)
    return found


def _walk(before: Any, after: Any, path: tuple[str, ...], ignore: PointerPatterns, found: Diff) -> None:
    kind_before, kind_after = json_type(before), json_type(after)
    if kind_before == kind_after and kind_before not in ("object", "array") and before == after:
        return  # containers are walked: `{"a": 1} == {"a": True}` in Python, not in JSON
    if kind_before == kind_after and before == after and _strictly_equal(before, after):
        return
    if ignore and ignore.covers(path):
        found.ignored += 1
        return
    if kind_before != kind_after:
        found.changes.append(Change(path, ChangeKind.TYPE_CHANGED, before, after, breaking=True))
    elif isinstance(before, dict):
        for key in before:
            if key in after:
                _walk(before[key], after[key], (*path, key), ignore, found)
            else:
                _gone_or_new((*path, key), ChangeKind.REMOVED, before[key], ignore, found, breaking=True)
        for key in after:
            if key not in before:
                _gone_or_new((*path, key), ChangeKind.ADDED, after[key], ignore, found, breaking=False)
    elif isinstance(before, list):
        for index, (old, new) in enumerate(zip(before, after, strict=False)):
            _walk(old, new, (*path, str(index)), ignore, found)
        for index in range(len(after), len(before)):  # fewer items: data, not a schema change
            _gone_or_new((*path, str(index)), ChangeKind.REMOVED, before[index], ignore, found, breaking=False)
        for index in range(len(before), len(after)):
            _gone_or_new((*path, str(index)), ChangeKind.ADDED, after[index], ignore, found, breaking=False)
    else:
        found.changes.append(Change(path, ChangeKind.VALUE_CHANGED, before, after))


def _gone_or_new(
    path: tuple[str, ...], kind: ChangeKind, value: Any, ignore: PointerPatterns, found: Diff, breaking: bool
) -> None:
    if ignore and ignore.covers(path):
        found.ignored += 1
        return
    before, after = (value, None) if kind is ChangeKind.REMOVED else (None, value)
    found.changes.append(Change(path, kind, before, after, breaking=breaking))


def _strictly_equal(before: Any, after: Any) -> bool:
    """Equal as JSON: Python's `==` also says True == 1."""
    if json_type(before) != json_type(after):
        return False
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_strictly_equal(v, after[k]) for k, v in before.items())
    if isinstance(before, list):
        return len(before) == len(after) and all(_strictly_equal(a, b) for a, b in zip(before, after, strict=True))
    return bool(before == after)
