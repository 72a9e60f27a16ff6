"""MCP tool annotations and paged lists in the resource model: record a real task-tools server (envs/tasks_mcp:
an idempotent update that replaces, a destructive `remove_task` that is a delete by its annotation, a cursor-paged
`list_tasks`), then replay with a real MCP client making calls nobody recorded and compare every answer with a
fresh live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_helpers import wire, write_cassette

from envs.tasks_mcp.record import record
from envs.tasks_mcp.server import make_server
from hudproxy.cassette.files import load_cassette
from hudproxy.mcp.exchange import Exchange
from hudproxy.mcp.http import attach_mcp
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.resources.learn import learn_model
from hudproxy.resources.mcp_tools import ToolRule
from hudproxy.resources.render import model_lines
from hudproxy.serving import serve_in_thread

UNRECORDED: list[tuple[str, dict[str, Any]]] = [
    ("update_task", {"task_id": "T3", "title": "fix tyre"}),  # a replace: priority 3 goes back to its default 2
    ("create_task", {"title": "paint"}),
    ("create_task", {"title": "sand", "priority": 5}),
    ("list_tasks", {}),
    ("list_tasks", {"cursor": "2"}),
    ("list_tasks", {"cursor": "4"}),
    ("remove_task", {"task_id": "T4"}),
    ("get_task", {"task_id": "T4"}),
    ("list_tasks", {"status": "open"}),
    ("list_tasks", {"status": "open", "cursor": "2"}),
]


async def run(target: Any, script: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async with Client(target, cache=None) as client:
        out = []
        for name, arguments in script:
            result = wire(await client.call_tool(name, arguments))
            out.append((result.get("isError"), result.get("structuredContent") or result["content"][0]["text"]))
        return out


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """envs/tasks_mcp/record.py's training script, recorded through hudproxy from the stdio server."""
    return record(tmp_path_factory.mktemp("tasks") / "tasks.yaml")


def test_annotations_and_cursor_pages_answer_unrecorded_calls_as_the_live_server(cassette: Path) -> None:
    app = create_replay_app(cassette, ReplayOptions(generalise=True))
    assert attach_mcp(app) is not None
    with serve_in_thread(app) as base:
        replayed = anyio.run(run, f"{base}/mcp", UNRECORDED)
    live = anyio.run(run, make_server(), UNRECORDED)
    assert replayed == live
    assert replayed[0][1]["priority"] == 2 and replayed[3][1]["nextCursor"] == "2"


def test_recorded_writes_out_of_order_and_filters_on_an_empty_list_follow_the_session(cassette: Path) -> None:
    """The recorded delete of T2 comes before the recorded first page here (the recording listed T2), and a
    filter on a list the session emptied is still a filter on a field its items have."""
    script: list[tuple[str, dict[str, Any]]] = [
        ("delete_task", {"task_id": "T2"}),  # recorded
        ("list_tasks", {}),  # recorded, but with T2 on it: stale for this session
        ("delete_task", {"task_id": "T1"}),
        ("remove_task", {"task_id": "T3"}),  # recorded
        ("list_tasks", {"status": "open"}),  # nothing left to show which fields tasks have
    ]
    app = create_replay_app(cassette, ReplayOptions(generalise=True))
    assert attach_mcp(app) is not None
    with serve_in_thread(app) as base:
        replayed = anyio.run(run, f"{base}/mcp", script)
    assert replayed == anyio.run(run, make_server(), script)
    assert replayed[1][1]["tasks"][1]["id"] == "T3" and replayed[4][1] == {"tasks": [], "nextCursor": None}


def test_the_model_says_what_the_annotations_taught(cassette: Path) -> None:
    model = learn_model(load_cassette(cassette))
    (resource,) = model.resources
    rules = {r.tool: r for r in resource.tool_rules if isinstance(r, ToolRule)}
    assert (rules["update_task"].op, rules["update_task"].semantics) == ("update", "replace")
    assert rules["remove_task"].op == "delete"
    listing = rules["list_tasks"]
    assert (listing.cursor_arg, listing.next_key, listing.page_size) == ("cursor", "nextCursor", 2)
    text = "\n".join(model_lines(model))
    assert "MCP tool update_task replaces item task_id" in text
    assert "2 per page by cursor/nextCursor" in text
    assert "annotated destructiveHint: true, idempotentHint: true, readOnlyHint: false (interaction 1)" in text


def test_without_a_recorded_tool_list_the_model_says_what_it_could_not_learn(tmp_path: Path) -> None:
    """No tools/list: nothing says the update replaces, nor that a destructive `remove_note` deletes."""

    def tool(name: str, arguments: dict[str, Any], data: Any) -> Exchange:
        result = {"content": [{"type": "text", "text": "{}"}], "structuredContent": data, "isError": False}
        return Exchange("notes", "tools/call", {"name": name, "arguments": arguments}, result)

    note = {"id": "N1", "text": "hi"}
    cassette = write_cassette(tmp_path / "notes.yaml", [
        tool("get_note", {"note_id": "N1"}, note),
        tool("update_note", {"note_id": "N1", "text": "yo"}, {**note, "text": "yo"}),
        tool("remove_note", {"note_id": "N1"}, {"ok": True}),
    ])  # fmt: skip
    model = learn_model(load_cassette(cassette))
    (resource,) = model.resources
    rules = {r.tool: r for r in resource.tool_rules if isinstance(r, ToolRule)}
    assert set(rules) == {"get_note", "update_note"} and rules["update_note"].semantics == "merge"
    assert any("no tools/list was recorded" in note for note in rules["update_note"].notes)
    (gap,) = [g for g in model.gaps if g.subject == "MCP tool notes: remove_note"]
    assert "no recorded annotation says it is a delete" in gap.reason and gap.evidence == [2]
