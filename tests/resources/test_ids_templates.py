"""Id styles and path clustering on their own: the two decisions everything else in the model rests on."""

from __future__ import annotations

import pytest

from hudproxy.resources.ids import IdStyle, id_kind, infer_style, natural_key
from hudproxy.resources.templates import Segments, Template, cluster, path_of, segments_of


@pytest.mark.parametrize(
    ("value", "kind"),
    [("42", "integer"), ("A1", "prefixed"), ("ord_12", "prefixed"), ("usr-0042", "prefixed"),
     ("0b5e7f3c-1d2a-4c3b-9e8f-123456789abc", "uuid"), ("5f1d7a9e2b3c4d5e6f7a8b9c", "hex"),
     ("daily", None), ("ZZ", None), ("", None), ("deadbeefdeadbeef", None)],
)  # fmt: skip
def test_id_kinds(value: str, kind: str | None) -> None:
    assert id_kind(value) == kind


def test_styles_and_their_next_ids() -> None:
    padded = infer_style(["usr-0007", "usr-0012", "usr-0100"])
    assert (padded.kind, padded.prefix, padded.width) == ("prefixed", "usr-", 4)
    assert padded.format(13) == "usr-0013" and padded.number("usr-0100") == 100 and padded.number("A1") is None
    assert infer_style(["A1", "A11", "R2"]).prefix == "A"  # the most common prefix
    assert infer_style(["3", "7"], numeric=True).describe() == "integer sequence (JSON number)"
    assert infer_style([]).kind == "unknown"
    uuid = IdStyle("uuid")
    assert uuid.random(1, "s", "notes", 0) == uuid.random(1, "s", "notes", 0) != uuid.random(1, "s", "notes", 1)


def test_natural_order_puts_a2_before_a11() -> None:
    assert sorted(["A11", "A2", "10", "9", "x"], key=natural_key) == ["9", "10", "A2", "A11", "x"]


def test_path_of_and_segments() -> None:
    assert path_of("http://h:1/users/1/todos?x=1#f") == "/users/1/todos"
    assert path_of("http://h:1") == "/"
    assert segments_of("/users/1/todos/") == ("users", "1", "todos") and segments_of("/") == ()


def _cluster(paths: list[str], confirmed: set[str] = frozenset(), errors: set[str] = frozenset()) -> dict[str, str]:
    by_segments = {segments_of(p): p for p in paths}

    def confirm(path: Segments, depth: int, value: str) -> tuple[int, str] | None:
        return (0, "id") if value in confirmed else None

    def error_leaf(path: Segments) -> bool:
        return by_segments[path] in errors

    found = cluster(list(by_segments), confirm, error_leaf)
    return {by_segments[s]: t.text for s, t in found.templates.items()}


def test_clustering_variables_literals_and_joined_leaves() -> None:
    templates = _cluster(["/orders/A1", "/orders/A2", "/orders/ZZ", "/orders/stats", "/v1/things/7",
                          "/users/1/todos/3", "/users/2/todos", "/reports/daily"],
                         errors={"/orders/ZZ"}, confirmed={"7", "3"})  # fmt: skip
    assert templates == {
        "/orders/A1": "/orders/{id}", "/orders/A2": "/orders/{id}", "/orders/ZZ": "/orders/{id}",
        "/orders/stats": "/orders/stats", "/v1/things/7": "/v1/things/{id}",
        "/users/1/todos/3": "/users/{user_id}/todos/{id}", "/users/2/todos": "/users/{user_id}/todos",
        "/reports/daily": "/reports/daily",
    }  # fmt: skip


def test_a_lone_unconfirmed_id_like_segment_stays_literal() -> None:
    assert _cluster(["/v1/health"]) == {"/v1/health": "/v1/health"}
    assert Template(("categories", None)).text == "/categories/{id}"
    assert Template(("categories", None, "items")).text == "/categories/{category_id}/items"
