"""Answering unrecorded requests from the learned model and a session's state, over the real recordings: the
bundled shop and the todos API. Where the recording holds the same request, the synthesized answer must equal the
recorded one: that is the strongest check that the model learned the representation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.resources.learn import learn_model
from hudproxy.resources.model import ResourceModel
from hudproxy.resources.state import ResourceState
from hudproxy.resources.synthesize import SYNTHESIZED_HEADER, Synthesized, apply, synthesize

JSON = (("content-type", "application/json"),)


def ask(state: ResourceState, method: str, target: str, body: Any = None) -> Synthesized | None:
    sent = json.dumps(body).encode() if body is not None else b""
    return synthesize(Request(method, "http://127.0.0.1:9/" + target.lstrip("/"), JSON, sent), state)


def answer(state: ResourceState, method: str, target: str, body: Any = None) -> tuple[int, Any, str]:
    found = ask(state, method, target, body)
    assert found is not None, f"{method} {target} was not synthesized"
    headers = dict(found.response.headers)
    data = json.loads(found.response.body) if found.response.body else None
    assert headers[SYNTHESIZED_HEADER] == found.rule
    return found.response.status, data, found.rule


def recorded_body(cassette: Cassette, index: int) -> Any:
    return json.loads(cassette.interactions[index].response.body)


@pytest.mark.parametrize(("target", "index"), [("/orders?status=paid&page=1&per_page=3", 6),
                                               ("/orders?status=paid&page=2&per_page=3", 7)])  # fmt: skip
def test_shop_list_rebuilt_equals_the_recorded_pages(
    shop_model: ResourceModel, shop_cassette: Cassette, target: str, index: int
) -> None:
    status, data, rule = answer(ResourceState(shop_model), "GET", target)
    assert (status, rule) == (200, "orders.list")
    assert data == recorded_body(shop_cassette, index)


@pytest.mark.parametrize(("target", "index"), [("/users", 0), ("/users/1/todos?limit=2", 2),
                                               ("/users/1/todos?offset=2&limit=2", 3), ("/users/2/todos", 4),
                                               ("/users/1/todos?done=true", 6), ("/users/1/todos/1", 7)])  # fmt: skip
def test_todos_answers_equal_the_recorded_ones(
    todos_model: ResourceModel, todos_cassette: Cassette, target: str, index: int
) -> None:
    status, data, _ = answer(ResourceState(todos_model), "GET", target)
    assert status == 200 and data == recorded_body(todos_cassette, index)


def test_shop_patch_then_read_and_filtered_list_see_the_change(shop_model: ResourceModel) -> None:
    state = ResourceState(shop_model, "s1")
    status, patched, rule = answer(state, "PATCH", "/orders/A2", {"status": "shipped"})
    assert (status, rule, patched["status"], patched["customer"]) == (200, "orders.patch", "shipped", "carol")
    assert answer(state, "GET", "/orders/A2")[1] == patched
    shipped = answer(state, "GET", "/orders?status=shipped&page=1&per_page=5")[1]
    assert [o["id"] for o in shipped["items"]] == ["A2"] and shipped["total"] == 1
    paid = answer(state, "GET", "/orders?status=paid&page=1&per_page=5")[1]
    assert [o["id"] for o in paid["items"]] == ["A5", "A8", "A11"]
    assert state.state_diff() == {
        "created": [],
        "deleted": [],
        "updated": [{"resource": "orders", "id": "A2", "path": "/orders/A2",
                     "fields": {"status": {"before": "paid", "after": "shipped"}}}],
    }  # fmt: skip
    assert state.state()["orders"]["A2"]["status"] == "shipped"


def test_shop_missing_order_gets_the_recorded_404_with_its_id(shop_model: ResourceModel) -> None:
    state = ResourceState(shop_model)
    assert answer(state, "GET", "/orders/A77") == (404, {"detail": "order A77 not found"}, "orders.not-found")
    assert answer(state, "PATCH", "/orders/A77", {"status": "paid"})[0] == 404


def test_shop_refund_ids_continue_the_recorded_sequence_per_session(shop_model: ResourceModel) -> None:
    first, second = ResourceState(shop_model, "a"), ResourceState(shop_model, "b")
    status, refund, rule = answer(first, "POST", "/refunds", {"order_id": "A5", "amount": 3.0})
    assert (status, rule) == (201, "refunds.create")
    assert refund == {"id": "R1", "order_id": "A5", "amount": 3.0, "status": "approved"}
    assert answer(first, "POST", "/refunds", {"order_id": "A8", "amount": 1})[1]["id"] == "R2"
    assert answer(second, "POST", "/refunds", {"order_id": "A8", "amount": 1})[1]["id"] == "R1"  # isolated
    assert ask(first, "POST", "/refunds", {"order_id": "A8", "amount": "lots"}) is None  # a type never recorded
    assert ask(first, "POST", "/refunds", {"order_id": "A8"}) is None  # every recorded create had an amount


def test_apply_makes_recorded_writes_part_of_the_session(shop_model: ResourceModel, shop_cassette: Cassette) -> None:
    state = ResourceState(shop_model)
    for index in (4, 9):  # PATCH /orders/A1 → shipped; POST /refunds → R1
        recorded = shop_cassette.interactions[index]
        apply(recorded.request, recorded.response, state)
    shipped = answer(state, "GET", "/orders?status=shipped&page=1&per_page=5")[1]
    assert [o["id"] for o in shipped["items"]] == ["A1"]
    assert answer(state, "POST", "/refunds", {"order_id": "A1", "amount": 2.0})[1]["id"] == "R2"
    assert [c["id"] for c in state.state_diff()["created"]] == ["R1", "R2"]


def test_sessions_are_copy_on_write_over_the_shared_model(shop_model: ResourceModel) -> None:
    changed, untouched = ResourceState(shop_model), ResourceState(shop_model)
    answer(changed, "PATCH", "/orders/A1", {"status": "paid"})
    assert answer(untouched, "GET", "/orders/A1")[1]["status"] == "pending"
    assert shop_model.by_name["orders"].baseline[()]["A1"]["status"] == "pending"
    assert untouched.changes == {} and untouched.state_diff() == {"created": [], "deleted": [], "updated": []}


def test_todos_create_put_delete_and_the_reads_that_follow(todos_model: ResourceModel) -> None:
    state = ResourceState(todos_model, "walk")
    found = ask(state, "POST", "/users/2/todos", {"title": "oil chain"})
    assert found is not None and found.response.status == 201
    created = json.loads(found.response.body)
    assert dict(found.response.headers)["location"] == "/users/2/todos/7"
    assert (created["id"], created["user_id"], created["done"], created["title"]) == (7, 2, False, "oil chain")
    status, replaced, rule = answer(state, "PUT", "/users/2/todos/7", {"title": "oil the chain", "done": True})
    assert (status, rule, replaced["title"], replaced["done"], replaced["created_at"]) == (
        200, "users.todos.put", "oil the chain", True, created["created_at"])  # fmt: skip
    assert ask(state, "PUT", "/users/2/todos/7", {"title": "no done"}) is None  # every recorded PUT had `done`
    listed = answer(state, "GET", "/users/2/todos?done=true")[1]
    assert [t["id"] for t in listed["data"]] == [5, 7] and listed["count"] == 2
    deleted = ask(state, "DELETE", "/users/2/todos/7")
    assert deleted is not None and (deleted.response.status, deleted.response.body) == (204, b"")
    assert answer(state, "GET", "/users/2/todos/7") == (
        404, {"error": "not_found", "message": "todo 7 not found"}, "users.todos.not-found")  # fmt: skip
    assert answer(state, "DELETE", "/users/2/todos/7")[0] == 404
    assert answer(state, "POST", "/users/2/todos", {"title": "next"})[1]["id"] == 8  # ids are never reused
    diff = state.state_diff()
    assert [c["id"] for c in diff["created"]] == ["8"] and diff["deleted"] == [] and diff["updated"] == []


def test_todos_pagination_follows_the_session_and_builds_next_urls(todos_model: ResourceModel) -> None:
    state = ResourceState(todos_model)
    answer(state, "POST", "/users/1/todos", {"title": "a", "done": True})
    page = answer(state, "GET", "/users/1/todos?done=false&limit=1")[1]
    assert page["next"] == "/users/1/todos?done=false&offset=1&limit=1" and page["count"] == 2
    last = answer(state, "GET", "/users/1/todos?offset=3&limit=2")[1]
    assert [t["id"] for t in last["data"]] == [7] and last["next"] is None


def test_missing_parent_and_what_the_model_does_not_cover(todos_model: ResourceModel) -> None:
    state = ResourceState(todos_model)
    assert answer(state, "GET", "/users/9/todos")[0:2] == (404, {"error": "not_found", "message": "user 9 not found"})
    assert answer(state, "POST", "/users/9/todos", {"title": "x"})[0] == 404
    assert ask(state, "GET", "/users/1/todos?sort=title") is None  # a parameter never recorded
    assert ask(state, "GET", "/users/1/todos?limit=abc") is None
    assert ask(state, "DELETE", "/users/1") is None  # no DELETE of a user was recorded
    assert ask(state, "PUT", "/users/1/todos/1", {"title": 5, "done": True}) is None  # a type never recorded
    assert ask(state, "GET", "/health") is None


def test_uuid_ids_are_deterministic_per_session_and_seed() -> None:
    recording = [
        Interaction(Request("GET", "http://api.test/notes/0b5e7f3c-1d2a-4c3b-9e8f-123456789abc"),
                    Response(200, "", JSON, b'{"id": "0b5e7f3c-1d2a-4c3b-9e8f-123456789abc", "text": "a"}'), 0),
        Interaction(Request("POST", "http://api.test/notes", JSON, b'{"text": "b"}'),
                    Response(201, "", JSON, b'{"id": "7f0c1a2b-3c4d-4e5f-8a9b-abcdefabcdef", "text": "b"}'), 1),
    ]  # fmt: skip
    model = learn_model(recording)

    def new_id(session: str, seed: int) -> str:
        return answer(ResourceState(model, session, seed), "POST", "/notes", {"text": "c"})[1]["id"]

    assert new_id("s1", 1) == new_id("s1", 1)
    assert len({new_id("s1", 1), new_id("s2", 1), new_id("s1", 2)}) == 3
    assert len(new_id("s1", 1)) == 36 and new_id("s1", 1)[14] == "4"


@pytest.mark.parametrize(
    ("method", "target", "body", "why"),
    [
        ("GET", "/health", None, "no learned resource has this path"),
        ("DELETE", "/users/1", None, "no DELETE /users/{id} was recorded"),
        ("GET", "/users/1/todos?sort=t", None, "query parameter 'sort' is neither paging nor a field of users.todos"),
        ("PUT", "/users/1/todos/1", {"title": "t"}, "every recorded PUT sent title (string), done (boolean)"),
        ("PUT", "/users/1/todos/1", {"title": 5, "done": 1}, "every recorded PUT sent title (string), done (boolean)"),
        ("POST", "/users", {"name": "n"}, "every recorded create sent name (string), email (string)"),
    ],
)  # fmt: skip
def test_each_miss_says_why(todos_model: ResourceModel, method: str, target: str, body: Any, why: str) -> None:
    state = ResourceState(todos_model)
    assert ask(state, method, target, body) is None
    assert state.why == why
