"""`--generalise` for MCP tools shaped like CRUD: record a real order-tools server, then replay with a real MCP
client making calls nobody recorded; the answers follow the session's own state, in the recorded result shape."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_helpers import recording, wire, write_cassette

from hudproxy.cassette.files import load_cassette
from hudproxy.journal.query import read_calls
from hudproxy.mcp.exchange import Exchange
from hudproxy.mcp.http import attach_mcp
from hudproxy.mcp.upstream import Upstream
from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.resources.generalise import session_state
from hudproxy.resources.learn import learn_model
from hudproxy.resources.render import model_lines
from hudproxy.serving import serve_in_thread

ORDERS_SERVER = f"{sys.executable} {Path(__file__).with_name('orders_tools_server.py')}"
TRAINING = [
    ("get_order", {"order_id": "A1"}),
    ("list_orders", {}),
    ("create_order", {"item": "chair"}),
    ("update_order", {"order_id": "A1", "status": "shipped"}),
    ("delete_order", {"order_id": "A2"}),
    ("get_order", {"order_id": "A2"}),
]


async def calls(url: str, script: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    async with Client(url, cache=None) as client:
        return [wire(await client.call_tool(name, arguments)) for name, arguments in script]


def data(result: dict[str, Any]) -> Any:
    return json.loads(result["content"][0]["text"])


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("orders") / "orders.yaml"
    with recording(path, Upstream(command=ORDERS_SERVER)) as url:
        anyio.run(calls, url, TRAINING)
    return path


@contextlib.contextmanager
def replaying(cassette: Path, generalise: bool) -> Iterator[str]:
    with replay_app(cassette, generalise) as (url, _):
        yield url


@contextlib.contextmanager
def replay_app(cassette: Path, generalise: bool, journal: Path | None = None) -> Iterator[tuple[str, ReplayApp]]:
    app = create_replay_app(cassette, ReplayOptions(generalise=generalise, journal=journal))
    assert attach_mcp(app) is not None
    with serve_in_thread(app) as base:
        yield f"{base}/mcp", app


def test_get_after_an_unrecorded_update_and_list_after_an_unrecorded_create(cassette: Path) -> None:
    script = [
        ("get_order", {"order_id": "A3"}),  # only the recorded create made A3: not in this session yet
        ("create_order", {"item": "sofa"}),  # recorded for "chair" only
        ("update_order", {"order_id": "A1", "status": "returned"}),  # recorded with "shipped" only
        ("get_order", {"order_id": "A1"}),  # recorded, but this session changed A1
        ("list_orders", {}),
        ("get_order", {"order_id": "Z9"}),  # an id nobody recorded: as the recording answered a missing one
    ]
    with replaying(cassette, generalise=True) as url:
        missing_first, created, updated, read, listed, unknown = anyio.run(calls, url, script)
    assert missing_first["isError"] is True and "A3 not found" in missing_first["content"][0]["text"]
    assert data(created) == {"id": "A3", "item": "sofa", "status": "pending"}
    assert created["structuredContent"] == {"result": created["content"][0]["text"]}  # the recorded shape
    assert data(updated) == data(read) == {"id": "A1", "item": "lamp", "status": "returned"}
    assert data(listed) == [
        {"id": "A1", "item": "lamp", "status": "returned"},
        {"id": "A2", "item": "desk", "status": "shipped"},
        {"id": "A3", "item": "sofa", "status": "pending"},
    ]
    assert unknown["isError"] is True and unknown["content"][0]["text"].endswith("order Z9 not found")


def test_recorded_writes_move_the_state_and_a_deleted_item_reads_as_missing(cassette: Path) -> None:
    script = [
        ("delete_order", {"order_id": "A2"}),  # recorded: answered as recorded, and the session's A2 is gone
        ("list_orders", {"status": "shipped"}),  # a filter nobody recorded
        ("delete_order", {"order_id": "A1"}),  # unrecorded delete
        ("get_order", {"order_id": "A1"}),  # recorded (A1 existed then): stale for this session
    ]
    with replaying(cassette, generalise=True) as url:
        deleted, shipped, deleted_again, read = anyio.run(calls, url, script)
    assert data(deleted) == {"deleted": "A2"}
    assert data(shipped) == []  # A1 starts as it was before the recorded update (pending); A2 is deleted
    assert data(deleted_again) == {"deleted": "A1"}
    assert read["isError"] is True and read["content"][0]["text"].endswith("order A1 not found")


def test_a_recording_that_contradicts_the_session_gives_way_to_its_state(cassette: Path) -> None:
    script = [
        ("get_order", {"order_id": "A2"}),  # recorded only as missing (after the recorded delete); here A2 exists
        ("create_order", {"item": "sofa"}),  # unrecorded: A3
        ("create_order", {"item": "chair"}),  # recorded as A3, which this session already holds
    ]
    with replaying(cassette, generalise=True) as url:
        read, sofa, chair = anyio.run(calls, url, script)
    assert data(read) == {"id": "A2", "item": "desk", "status": "shipped"}
    assert (data(sofa)["id"], data(chair)) == ("A3", {"id": "A4", "item": "chair", "status": "pending"})


def test_graders_see_the_tool_calls_in_the_session_state_diff(cassette: Path) -> None:
    script = [("create_order", {"item": "sofa"}), ("update_order", {"order_id": "A1", "status": "returned"})]
    with replay_app(cassette, generalise=True) as (url, app):
        anyio.run(calls, url, script)
        (session,) = list(app.sessions)
        diff = session_state(app.engine.model, session.state, session.id).state_diff()
    assert [(c["resource"], c["id"], c["item"]["item"]) for c in diff["created"]] == [
        ("order-tools:orders", "A3", "sofa")
    ]
    assert diff["updated"][0]["fields"] == {"status": {"before": "pending", "after": "returned"}}
    assert diff["deleted"] == []


def test_the_journal_names_the_rule_and_its_evidence(cassette: Path, tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    script = [("get_order", {"order_id": "A1"}), ("create_order", {"item": "sofa"})]
    with replay_app(cassette, generalise=True, journal=journal) as (url, _):
        anyio.run(calls, url, script)
    rows = [c for c in read_calls(journal, kind="mcp") if c.path.startswith("/tools/call/")]
    assert [(c.path, c.answered_by, c.rule) for c in rows] == [
        ("/tools/call/get_order", "recording", None),
        ("/tools/call/create_order", "model", "create:create_order"),
    ]
    assert rows[1].evidence


def test_without_generalise_the_same_calls_stay_misses(cassette: Path) -> None:
    with replaying(cassette, generalise=False) as url:
        (created,) = anyio.run(calls, url, [("create_order", {"item": "sofa"})])
    assert created["isError"] is True and "not available in this environment" in created["content"][0]["text"]


def test_the_model_lists_the_tools_with_their_evidence(cassette: Path) -> None:
    model = learn_model(load_cassette(cassette))
    (resource,) = model.resources
    assert resource.mcp_server == "order-tools" and resource.id_field == "id"
    rules = {rule.to_dict()["rule"]: rule.evidence for rule in resource.rules()}
    assert set(rules) == {f"{op}:{op}_order" for op in ("get", "create", "update", "delete")} | {"list:list_orders"}
    assert all(rules.values())
    text = "\n".join(model_lines(model))
    assert "MCP server 'order-tools', tools get_order, list_orders" in text
    assert "an unknown id → the recorded isError result" in text


def structured(data: Any) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": json.dumps(data)}], "structuredContent": data, "isError": False}


def ticket_exchanges() -> list[Exchange]:
    """Integer ids in structuredContent; no missing id recorded; `delete_ticket` annotated read-only (a
    contradiction: it stays recorded-only)."""
    tools = [
        {"name": n, "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": n.startswith("get")}}
        for n in ("get_ticket", "create_ticket")
    ] + [{"name": "delete_ticket", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}]

    def tool(name: str, arguments: dict[str, Any], result: dict[str, Any]) -> Exchange:
        return Exchange("desk", "tools/call", {"name": name, "arguments": arguments}, result)

    return [
        Exchange(
            "desk",
            "initialize",
            {},
            {
                "protocolVersion": "2025-11-25",
                "serverInfo": {"name": "desk", "version": "1"},
                "capabilities": {"tools": {}},
            },
        ),
        Exchange("desk", "tools/list", {}, {"tools": tools}),
        tool("get_ticket", {"ticket_id": 7}, structured({"ticket_id": 7, "title": "printer", "open": True})),
        tool("create_ticket", {"title": "vpn"}, structured({"ticket_id": 8, "title": "vpn", "open": True})),
        tool("delete_ticket", {"ticket_id": 7}, structured({"ok": True})),
    ]


def test_structured_results_integer_ids_and_what_the_recording_does_not_show(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "desk.yaml", ticket_exchanges())
    model = learn_model(load_cassette(cassette))
    (gap,) = [g for g in model.gaps if "delete_ticket" in g.subject]
    assert "annotated readOnlyHint: true" in gap.reason and gap.evidence == [1]
    script = [
        ("create_ticket", {"title": "mouse"}),
        ("get_ticket", {"ticket_id": 8}),  # only the recorded create made 8: a fresh session has the mouse there
        ("get_ticket", {"ticket_id": 99}),  # unknown, and no missing one was recorded: stays a miss
        ("delete_ticket", {"ticket_id": 8}),  # not modelled (the annotation contradicts the name): a miss
    ]
    with replaying(cassette, generalise=True) as url:
        created, read, unknown, deleted = anyio.run(calls, url, script)
    assert created["structuredContent"] == {"ticket_id": 8, "title": "mouse", "open": True}
    assert read["structuredContent"] == created["structuredContent"]
    assert "not available in this environment" in unknown["content"][0]["text"]
    assert "not available in this environment" in deleted["content"][0]["text"]
