"""Representations the two bundled APIs do not use: list entries that show fewer fields than a read, ids in
recorded (not natural) order, numeric filters, absolute `Location` headers."""

from __future__ import annotations

import json
from typing import Any

from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.resources.learn import learn_model
from hudproxy.resources.state import ResourceState
from hudproxy.resources.synthesize import synthesize

JSON = (("content-type", "application/json"),)
U1, U2 = "0b5e7f3c-1d2a-4c3b-9e8f-123456789abc", "7f0c1a2b-3c4d-4e5f-8a9b-abcdefabcdef"


def exchange(index: int, method: str, path: str, status: int, body: Any = None, sent: Any = None,
             headers: tuple[tuple[str, str], ...] = ()) -> Interaction:  # fmt: skip
    request_body = json.dumps(sent).encode() if sent is not None else b""
    return Interaction(Request(method, "https://api.test" + path, JSON, request_body),
                       Response(status, "", JSON + headers, json.dumps(body).encode()), index)  # fmt: skip


RECORDING = [
    exchange(0, "GET", "/books", 200, [{"id": U2, "title": "b"}, {"id": U1, "title": "a"}]),
    exchange(1, "GET", f"/books/{U1}", 200, {"id": U1, "title": "a", "pages": 100, "isbn": "1"}),
    exchange(2, "GET", f"/books/{U2}", 200, {"id": U2, "title": "b", "pages": 300, "isbn": "2"}),
    exchange(3, "GET", "/books?pages=300", 200, [{"id": U2, "title": "b"}]),
    exchange(4, "POST", "/books", 201, {"id": "9d0c1a2b-3c4d-4e5f-8a9b-abcdefabcdef", "title": "c", "pages": 5,
                                        "isbn": "3"}, {"title": "c", "pages": 5, "isbn": "3"},
             (("location", "https://api.test/books/9d0c1a2b-3c4d-4e5f-8a9b-abcdefabcdef"),)),
]  # fmt: skip


def answer(state: ResourceState, method: str, target: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
    sent = json.dumps(body).encode() if body is not None else b""
    found = synthesize(Request(method, "http://127.0.0.1:1" + target, JSON, sent), state)
    assert found is not None, state.why
    return found.response.status, json.loads(found.response.body), dict(found.response.headers)


def test_list_entries_keep_the_recorded_fields_order_and_filters() -> None:
    model = learn_model(RECORDING)
    books = model.by_name["books"]
    assert books.listing is not None and books.listing.fields == ["id", "title"] and books.listing.order == "recorded"
    assert books.id_style.kind == "uuid"
    state = ResourceState(model, "s", 3)
    status, created, headers = answer(state, "POST", "/books", {"title": "d", "pages": 300, "isbn": "4"})
    assert status == 201 and headers["location"] == f"https://api.test/books/{created['id']}"
    assert answer(state, "GET", "/books")[1] == [{"id": U2, "title": "b"}, {"id": U1, "title": "a"},
                                                 {"id": created["id"], "title": "d"}]  # fmt: skip
    assert [b["title"] for b in answer(state, "GET", "/books?pages=300")[1]] == ["b", "d"]
    assert answer(state, "GET", f"/books/{U1}")[1]["pages"] == 100  # a read still shows every field
