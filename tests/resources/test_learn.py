"""Learning the resource model from real recorded cassettes (cassettes/shop.yaml, cassettes/todos.yaml) and from
small hand-built recordings for the id styles the two APIs do not use."""

from __future__ import annotations

import json

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.resources.learn import learn_model
from hudproxy.resources.model import ID_MARK, ResourceModel

JSON = (("content-type", "application/json"),)


def exchange(index: int, method: str, path: str, status: int, body: object = None, sent: object = None,
             headers: tuple[tuple[str, str], ...] = ()) -> Interaction:  # fmt: skip
    request_body = json.dumps(sent).encode() if sent is not None else b""
    response_body = json.dumps(body).encode() if body is not None else b""
    return Interaction(Request(method, "http://api.test" + path, JSON, request_body),
                       Response(status, "", JSON + headers, response_body), index)  # fmt: skip


def test_shop_orders_template_confirmed_by_the_id_field_and_the_404_leaf_joins(shop_model: ResourceModel) -> None:
    orders = shop_model.by_name["orders"]
    assert orders.item.text == "/orders/{id}" and orders.collection.text == "/orders"
    variable = next(t for t in shop_model.templates if t["template"] == "/orders/{id}")
    assert variable["confirmed_by"] == {"interaction": 1, "field": "id"}
    assert variable["joined"] == ["ZZ"]  # GET /orders/ZZ → 404: a missing order, not another endpoint
    assert orders.id_field == "id" and orders.id_style.kind == "prefixed" and orders.id_style.prefix == "A"


def test_shop_starting_state_is_before_the_recorded_patch(shop_model: ResourceModel) -> None:
    start = shop_model.by_name["orders"].baseline[()]
    assert sorted(start) == ["A1", "A11", "A2", "A5", "A8"]
    assert start["A1"]["status"] == "pending"  # the recording PATCHed it to shipped later


def test_shop_list_is_a_paged_envelope_with_a_status_filter(shop_model: ResourceModel) -> None:
    listing = shop_model.by_name["orders"].listing
    assert listing is not None
    assert (listing.shape, listing.items_key, listing.pagination.style) == ("envelope", "items", "page")
    assert (listing.pagination.page_param, listing.pagination.size_param) == ("page", "per_page")
    assert listing.roles == {"page": "page", "per_page": "size", "total": "total", "next_page": "next_page"}
    assert listing.filters == {"status": "status"}
    assert listing.evidence == [6, 7]


def test_shop_patch_merges_and_missing_order_body_keeps_its_shape(shop_model: ResourceModel) -> None:
    orders = shop_model.by_name["orders"]
    patch = orders.updates["PATCH"]
    assert (patch.semantics, patch.status, patch.evidence, patch.notes) == ("merge", 200, [4], [])
    assert orders.not_found is not None
    assert orders.not_found.status == 404 and orders.not_found.body == {"detail": f"order {ID_MARK} not found"}


def test_shop_refund_create_without_item_endpoint(shop_model: ResourceModel) -> None:
    refunds = shop_model.by_name["refunds"]
    create = refunds.create
    assert create is not None and refunds.read is None
    assert (create.status, create.first_number, create.evidence) == (201, 1, [9])
    assert refunds.id_style.describe() == "prefix 'R' + number"
    assert {k: r.kind for k, r in create.fields.items()} == {"id": "id", "order_id": "request", "amount": "request",
                                                             "status": "request"}  # fmt: skip
    assert create.fields["status"].value == "approved" and create.fields["status"].has_default
    assert create.required == {"order_id": "string", "amount": "number"}


def test_shop_gaps_name_what_is_not_a_resource_and_missing_operations(shop_model: ResourceModel) -> None:
    gaps = {g.subject: g for g in shop_model.gaps}
    assert "not a resource" in gaps["GET /reports/daily"].reason and gaps["GET /reports/daily"].evidence == [10]
    assert "POST /auth/token" in gaps and "GET /health" in gaps
    assert "no POST /orders was recorded" in gaps["orders.create"].reason
    assert "no DELETE /orders/{id}" in gaps["orders.delete"].reason
    assert [r.name for r in shop_model.resources] == ["orders", "refunds"]


def test_todos_nested_resource_under_users(todos_model: ResourceModel) -> None:
    todos = todos_model.by_name["users.todos"]
    assert todos.collection.text == "/users/{user_id}/todos" and todos.item.text == "/users/{user_id}/todos/{id}"
    assert todos.parent == "users"
    assert todos.id_style.kind == "integer" and todos.id_style.numeric
    assert {parent: sorted(items, key=int) for parent, items in todos.baseline.items()} == {
        ("1",): ["1", "2", "3"],
        ("2",): ["4", "5"],
        ("3",): ["6"],
    }  # todo 7 was made by a recorded create
    create = todos.create
    assert create is not None and (create.status, create.location, create.first_number) == (201, "", 7)
    roles = {k: r.kind for k, r in create.fields.items()}
    assert roles == {"id": "id", "user_id": "parent", "title": "request", "done": "request",
                     "created_at": "timestamp", "updated_at": "timestamp"}  # fmt: skip
    assert create.fields["done"].value is False and create.fields["done"].has_default


def test_todos_put_replaces_and_touches_updated_at_delete_is_204(todos_model: ResourceModel) -> None:
    todos = todos_model.by_name["users.todos"]
    put = todos.updates["PUT"]
    assert (put.semantics, put.status, put.returns_body) == ("replace", 200, True)
    assert list(put.touched) == ["updated_at"] and put.required == {"title": "string", "done": "boolean"}
    assert todos.delete is not None and (todos.delete.status, todos.delete.body) == (204, b"")
    assert todos.not_found is not None and todos.not_found.body["message"] == f"todo {ID_MARK} not found"


def test_todos_offset_pagination_with_next_url(todos_model: ResourceModel) -> None:
    listing = todos_model.by_name["users.todos"].listing
    assert listing is not None
    assert (listing.shape, listing.items_key) == ("envelope", "data")
    assert listing.roles == {"count": "total", "next": "next_url"}
    paging = listing.pagination
    assert (paging.style, paging.offset_param, paging.size_param, paging.next_params) == (
        "offset",
        "offset",
        "limit",
        ["offset", "limit"],
    )
    assert listing.filters == {"done": "done"}
    users = todos_model.by_name["users"].listing
    assert users is not None and users.shape == "array"


def test_uuid_ids_and_ids_from_the_request() -> None:
    ids = ["0b5e7f3c-1d2a-4c3b-9e8f-123456789abc", "7f0c1a2b-3c4d-4e5f-8a9b-abcdefabcdef"]
    recording = [
        exchange(0, "GET", f"/widgets/{ids[0]}", 200, {"uuid": ids[0], "name": "a"}),
        exchange(1, "POST", "/widgets", 201, {"uuid": ids[1], "name": "b"}, {"name": "b"}),
        exchange(2, "GET", "/slots/wed-3", 200, {"slot": "wed-3", "open": True}),
        exchange(3, "GET", "/slots/mon-1", 200, {"slot": "mon-1", "open": False}),
        exchange(4, "POST", "/slots", 201, {"slot": "tue-2", "open": True}, {"slot": "tue-2", "open": True}),
    ]
    model = learn_model(Cassette(recording))
    widgets = model.by_name["widgets"]
    assert widgets.id_field == "uuid" and widgets.id_style.kind == "uuid"
    slots = model.by_name["slots"]
    assert slots.id_style.kind == "request"


def test_lone_version_segment_stays_literal_and_mcp_is_a_gap() -> None:
    recording = [
        exchange(0, "GET", "/v1/things/1", 200, {"id": 1}),
        exchange(1, "GET", "/v1/things/2", 200, {"id": 2}),
        Interaction(
            Request("POST", "mcp://tools/tools/call/get_thing", JSON, b"{}"), Response(200, "", JSON, b"{}"), 2
        ),
    ]
    model = learn_model(recording)
    assert [r.item.text for r in model.resources] == ["/v1/things/{id}"]
    (mcp,) = [g for g in model.gaps if g.subject.startswith("MCP tools")]
    assert mcp.subject == "MCP tools tools: get_thing"  # a CRUD name without the evidence: said so, as recorded
    assert mcp.reason.startswith("no id argument (<x>_id or id)") and mcp.evidence == [2]
