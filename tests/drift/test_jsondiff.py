"""The field-by-field diff, the pointer patterns and the tool judging: plain data in, plain data out."""

from __future__ import annotations

import pytest

from hudproxy.drift.jsondiff import ChangeKind, diff_json
from hudproxy.drift.pointers import PointerPatterns, pointer, segments_of
from hudproxy.drift.responses import answer_of, compare_answers
from hudproxy.drift.tools import compare_tools
from hudproxy.drift.volatile import Volatile, learned_between, route_key
from hudproxy.errors import ConfigError
from hudproxy.testing import make_response


def kinds(before: object, after: object) -> dict[str, tuple[str, bool]]:
    return {c.pointer: (c.kind.value, c.breaking) for c in diff_json(before, after).changes}


def test_each_kind_of_change_and_whether_it_breaks() -> None:
    before = {"id": 1, "name": "a", "price": 9.5, "tags": ["x", "y"], "gone": True, "meta": {"n": 1}}
    after = {"id": 1, "name": "b", "price": "9.50", "tags": ["x"], "new": None, "meta": {"n": 1}}
    assert kinds(before, after) == {
        "/name": ("value_changed", False),
        "/price": ("type_changed", True),
        "/tags/1": ("removed", False),  # a shorter list is data, not a schema change
        "/gone": ("removed", True),
        "/new": ("added", False),
    }


def test_json_types_not_python_ones() -> None:
    assert kinds({"n": 1}, {"n": 1.5}) == {"/n": ("value_changed", False)}  # both numbers
    assert kinds({"n": 1}, {"n": True}) == {"/n": ("type_changed", True)}  # 1 == True in Python only
    assert kinds([{"a": 0}], [{"a": False}]) == {"/0/a": ("type_changed", True)}
    assert kinds({"a": None}, {"a": None}) == {}


def test_patterns_hide_volatile_fields_and_count_them() -> None:
    before = {"items": [{"id": "1", "at": 1}, {"id": "2", "at": 2}], "meta": {"etag": "a", "more": {"x": 1}}}
    after = {"items": [{"id": "3", "at": 1}, {"id": "4", "at": 2}], "meta": {"etag": "b", "more": {"x": 2}}}
    found = diff_json(before, after, PointerPatterns.parse(["/items/*/id", "/meta"]))
    assert found.changes == [] and found.ignored == 3


def test_pointers_escape_slashes_and_tildes() -> None:
    assert pointer(("a/b", "c~d", 0)) == "/a~1b/c~0d/0"
    assert segments_of("/a~1b/c~0d/0") == ("a/b", "c~d", "0")
    assert kinds({"a/b": 1}, {}) == {"/a~1b": ("removed", True)}
    with pytest.raises(ConfigError, match="JSON pointer"):
        segments_of("items/id")


def test_learning_generalises_array_positions() -> None:
    first = {"id": "a", "items": [{"id": "x", "n": 1}], "same": 1}
    second = {"id": "b", "items": [{"id": "y", "n": 1}], "same": 1}
    learned = learned_between("GET /things/*", first, second, {"location": "/a"}, {"location": "/b"})
    assert learned.to_dict() == {
        "pointers": [],
        "headers": ["location"],
        "by_request": {"GET /things/*": ["/id", "/items/*/id"]},
    }
    assert learned.for_request("GET /things/*").pointers.covers(("items", "3", "id"))
    assert not learned.for_request("GET /other").pointers.covers(("id",))  # learned where it changed, only
    assert not learned_between("GET /", "text one", "text two", {}, {})  # a whole body names no field


def test_route_keys_fold_ids() -> None:
    assert route_key("get", "/orders/A1") == route_key("GET", "/orders/A2") == "GET /orders/*"
    assert route_key("GET", "/v1/users/3f2a9c1e-77aa/feed") == "GET /v1/users/*/feed"
    assert route_key("GET", "/health") == "GET /health"


def test_answers_compare_decoded_bodies_and_the_headers_that_matter() -> None:
    recorded = answer_of(make_response(json={"a": 1}, headers=[("Date", "Mon"), ("X-Trace", "1")]))
    live = answer_of(make_response(body=b"<html>down</html>", status=502, headers=[("Content-Type", "text/html")]))
    drift = compare_answers(recorded, live)
    assert drift.status_breaking and drift.breaking
    assert [h.name for h in drift.headers] == ["content-type"] and drift.headers[0].breaking
    assert drift.body[0].kind is ChangeKind.TYPE_CHANGED  # JSON became an HTML page
    same = compare_answers(recorded, answer_of(make_response(json={"a": 1}, headers=[("Date", "Tue")])), Volatile())
    assert not same.drifted


def test_tool_schemas_are_judged_for_the_caller() -> None:
    def tool(properties: dict[str, object], required: list[str], description: str = "d") -> dict[str, object]:
        schema = {"type": "object", "properties": properties, "required": required}
        return {"name": "t", "description": description, "inputSchema": schema}

    base = tool({"a": {"type": "string"}, "b": {"type": "integer"}}, ["a"])
    optional_added = tool({"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string"}}, ["a"])
    newly_required = tool({"a": {"type": "string"}, "b": {"type": "integer"}}, ["b", "a"])
    retyped = tool({"a": {"type": "string"}, "b": {"type": "string"}}, ["a"], description="new words")
    assert not compare_tools("s", {"t": base}, {"t": optional_added})[0].breaking
    required = compare_tools("s", {"t": base}, {"t": newly_required})[0]
    assert required.breaking and [c.pointer for c in required.input] == ["/required/b"]  # reordering is no change
    changed = compare_tools("s", {"t": base}, {"t": retyped})[0]
    assert changed.breaking and changed.flagged and changed.description == ("d", "new words")
    assert compare_tools("s", {"t": base}, {"t": base}) == []
    assert [(c.tool, c.kind) for c in compare_tools("s", {"t": base}, {"u": base})] == [
        ("t", "removed"),
        ("u", "added"),
    ]


def test_an_empty_body_that_gains_json_is_not_breaking_and_the_reverse_is() -> None:
    empty, filled = answer_of(make_response(status=204)), answer_of(make_response(json={"ok": True}))
    gained = compare_answers(empty, filled).body
    assert [(c.kind, c.breaking) for c in gained] == [(ChangeKind.ADDED, False)]
    lost = compare_answers(filled, empty).body
    assert [(c.kind, c.breaking) for c in lost] == [(ChangeKind.REMOVED, True)]
