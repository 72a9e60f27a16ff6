"""Promises of the README's MCP section not covered elsewhere: resources and prompts replayed, vcrpy reading a
mixed cassette, arguments matched as data, the developer's diagnosis of a miss, secrets kept out of the cassette
and `hudproxy inspect` on a mixed cassette. Real servers, real clients, real files."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import vcr
import yaml
from mcp import Client
from mcp_helpers import (
    ERAS,
    STDIO_COMMAND,
    TOOLS,
    HttpUpstream,
    call,
    free_port,
    hudproxy_cli,
    inspect_output,
    recording,
    replaying,
    wallet_exchanges,
    wire,
    write_cassette,
)
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import jsonserializer, yamlserializer

from hudproxy.cassette.files import load_cassette, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.mcp.exchange import Exchange, from_interaction, to_interaction
from hudproxy.mcp.upstream import Upstream
from hudproxy.testing import make_interaction, make_request, make_response

WIDE = {**os.environ, "COLUMNS": "200"}  # rich wraps the log at 80 columns otherwise


def texts_of(output: list[str]) -> str:
    """A process's output as one line, whitespace collapsed (the log wraps long lines)."""
    return " ".join(" ".join(output).split())


# ---------------------------------------------------------------- 1. resources and prompts


async def browse(target: Any, era: str) -> dict[str, Any]:
    """What an agent sees of the server's resources and prompts, as wire JSON."""
    async with Client(target, mode=era, cache=None) as client:
        return {
            "resources": wire(await client.list_resources()),
            "templates": wire(await client.list_resource_templates()),
            "terms": wire(await client.read_resource("wallet://terms")),
            "statement": wire(await client.read_resource("wallet://statements/2026-01")),
            "prompts": wire(await client.list_prompts()),
            "prompt": wire(await client.get_prompt("refund_letter", {"customer": "Ann"})),
        }


@pytest.mark.parametrize("era", ERAS)
def test_resources_templates_and_prompts_replay_identically(
    tmp_path: Path, http_upstream: HttpUpstream, era: str
) -> None:
    cassette = tmp_path / "browse.yaml"
    with recording(cassette, Upstream(url=http_upstream.url)) as url:
        recorded = anyio.run(browse, url, era)
    http_upstream.stop()
    methods = [from_interaction(i).method for i in load_cassette(cassette).interactions]
    assert {"resources/list", "resources/templates/list", "resources/read", "prompts/list", "prompts/get"} <= set(
        methods
    )
    assert methods.count("resources/read") == 2
    with replaying(cassette) as (base, _):
        replayed = anyio.run(browse, f"{base}/mcp", era)
    assert replayed == recorded
    assert {r["uri"] for r in replayed["resources"]["resources"]} == {"wallet://terms", "wallet://config"}
    assert [t["uriTemplate"] for t in replayed["templates"]["resourceTemplates"]] == ["wallet://statements/{month}"]
    assert replayed["terms"]["contents"][0]["text"] == "No refunds after 30 days."
    assert replayed["statement"]["contents"][0]["text"] == "Statement for 2026-01: balance 500."
    assert [p["name"] for p in replayed["prompts"]["prompts"]] == ["refund_letter"]
    assert replayed["prompt"]["messages"][0]["content"]["text"] == "Dear Ann, your refund is on its way."


# ---------------------------------------------------------------- a cassette with HTTP and MCP


def mixed_cassette(path: Path) -> Path:
    """GET order, three MCP exchanges, PATCH order, the rest of the wallet session: both kinds interleaved."""
    exchanges = wallet_exchanges()
    get = make_interaction(
        make_request("GET", "http://api.test/orders/A1"), make_response(200, json={"id": "A1", "status": "open"})
    )
    patch = make_interaction(
        make_request("PATCH", "http://api.test/orders/A1", json={"status": "paid"}),
        make_response(200, json={"id": "A1", "status": "paid"}),
    )
    items = [get, *map(to_interaction, exchanges[:3]), patch, *map(to_interaction, exchanges[3:])]
    return save_cassette(Cassette([replace(item, index=n) for n, item in enumerate(items)]), path)


# ---------------------------------------------------------------- 2. vcrpy


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_vcrpy_loads_a_mixed_cassette_and_sees_only_http(tmp_path: Path, fmt: str) -> None:
    path = mixed_cassette(tmp_path / f"mixed.{fmt}")
    held = json.loads(path.read_text()) if fmt == "json" else yaml.safe_load(path.read_text())
    assert len(held["mcp"]) == 6 and len(held["interactions"]) == 2  # the file holds both kinds

    serializer = {"yaml": yamlserializer, "json": jsonserializer}[fmt]
    requests, responses = FilesystemPersister.load_cassette(str(path), serializer)
    assert [(r.method, r.uri) for r in requests] == [
        ("GET", "http://api.test/orders/A1"),
        ("PATCH", "http://api.test/orders/A1"),
    ]
    assert [r["status"]["code"] for r in responses] == [200, 200]

    with (
        vcr.use_cassette(str(path), record_mode="none", serializer=fmt, match_on=["method", "uri"]) as cassette,
        httpx.Client() as client,
    ):
        assert len(cassette) == 2
        opened = client.get("http://api.test/orders/A1").json()
        paid = client.patch("http://api.test/orders/A1", json={"status": "paid"}).json()
        assert cassette.all_played
    assert (opened, paid) == ({"id": "A1", "status": "open"}, {"id": "A1", "status": "paid"})


# ---------------------------------------------------------------- 3. arguments as data


RECORDED_ARGS = {"origin": "SFO", "filters": {"stops": 0, "cabin": "economy"}, "trace_id": "t-1"}
REORDERED = {"trace_id": "t-1", "filters": {"cabin": "economy", "stops": 0}, "origin": "SFO"}
FLIGHTS = "2 flights: UA1, AA2"


def flights_cassette(path: Path) -> Path:
    tools = [*TOOLS, {"name": "find_flights", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}]
    exchanges = wallet_exchanges()
    exchanges[1] = Exchange("wallet", "tools/list", {}, {"tools": tools})
    return write_cassette(path, [*exchanges, call("wallet", "find_flights", RECORDED_ARGS, FLIGHTS)])


async def call_tools(url: str, era: str, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, str]]:
    async with Client(url, mode=era, cache=None) as client:
        out = []
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            out.append((result.is_error, result.content[0].text))  # type: ignore[union-attr]
        return out


@pytest.mark.parametrize(
    ("option", "variant", "matches"),
    [
        pytest.param([], {**REORDERED, "trace_id": "t-2"}, False, id="no-option"),
        pytest.param(["--ignore-json-field", "trace_id"], {**REORDERED, "trace_id": "t-2"}, True, id="top-level"),
        pytest.param(
            ["--ignore-json-field", "filters.cabin"],
            {**REORDERED, "filters": {"stops": 0, "cabin": "business"}},
            True,
            id="dotted",
        ),
    ],
)
def test_arguments_match_as_data_and_ignore_json_field_applies(
    tmp_path: Path, option: list[str], variant: dict[str, Any], matches: bool
) -> None:
    cassette = flights_cassette(tmp_path / "flights.yaml")
    port = free_port()
    with hudproxy_cli("replay", str(cassette), "--no-journal", *option, port=port, env=WIDE):
        (same, other) = anyio.run(
            call_tools, f"http://127.0.0.1:{port}/mcp", "auto", [("find_flights", REORDERED), ("find_flights", variant)]
        )
    assert same == (False, FLIGHTS)  # key order, at the top and nested, is not a difference
    if matches:
        assert other == (False, FLIGHTS)
    else:
        assert other[0] is True
        assert other[1].startswith("find_flights(") and "not available" in other[1] and FLIGHTS not in other[1]


# ---------------------------------------------------------------- 4. the developer's diagnosis of a miss


@pytest.mark.parametrize("era", ERAS)
def test_unmatched_call_is_diagnosed_in_the_log_not_answered(tmp_path: Path, era: str) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    port = free_port()
    with hudproxy_cli("replay", str(cassette), "--journal", str(tmp_path / "j.db"), port=port, env=WIDE) as (_, out):
        ((is_error, text),) = anyio.run(
            call_tools, f"http://127.0.0.1:{port}/mcp", era, [("charge_card", {"amount": 250})]
        )
    assert is_error is True
    assert "charge_card" in text and "250" in text and "not available" in text
    assert "charged" not in text  # never the near miss's recorded answer ("charged 100")
    log = texts_of(out)
    # worded as the agent made the call, as `inspect --why` and `hudproxy journal --unmatched` word it
    assert 'unmatched: tools/call charge_card {"amount":250} (MCP server wallet)' in log
    diagnosis = log[log.index("unmatched") :]
    assert '#1 nearest: interaction 3: tools/call charge_card {"amount":100}' in diagnosis
    assert "differs: arguments.amount: 250 (recorded 100)" in diagnosis
    assert "arguments.amount: 250 (recorded 99999)" in diagnosis  # the other recorded charge is near too
    assert "/tools/call/" not in diagnosis  # not the synthetic request the matcher sees


# ---------------------------------------------------------------- 5. secrets


SECRETS = ("sk-env-4242", "tok-cmd-999", "pw-live-777", "sk-live-123")


async def sign_in(url: str) -> tuple[str, str]:
    async with Client(url, mode="auto", cache=None) as client:
        result = await client.call_tool("login", {"user": "ann", "password": "pw-live-777", "api_key": "sk-live-123"})
        config = await client.read_resource("wallet://config")
        return result.content[0].text, config.contents[0].text  # type: ignore[union-attr]


def test_record_keeps_environment_and_argument_secrets_out_of_the_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "secret.yaml"
    env = {**WIDE, "API_KEY": "sk-env-4242"}  # the stdio upstream inherits this process's environment
    command = f"env SERVICE_TOKEN=tok-cmd-999 {STDIO_COMMAND}"  # and one secret on its command line
    port = free_port()
    record = ("record", "--mcp-command", command, "--cassette", str(cassette), "--no-journal")
    with hudproxy_cli(*record, port=port, env=env, cwd=tmp_path) as (_, out):
        welcome, config = anyio.run(sign_in, f"http://127.0.0.1:{port}/mcp")
    assert (welcome, config) == ("welcome ann", "api key configured: yes")  # the upstream did get the key
    assert "new exchanges" in texts_of(out)
    stored = cassette.read_text()
    assert [s for s in SECRETS if s in stored] == []
    login = next(e for e in map(from_interaction, load_cassette(cassette).interactions) if e.name == "login")
    assert login.params["arguments"]["user"] == "ann"
    assert login.params["arguments"]["password"] != "pw-live-777"
    assert login.params["arguments"]["api_key"] != "sk-live-123"


# ---------------------------------------------------------------- 6. inspect


def table_rows(shown: str) -> list[tuple[str, str, str]]:
    """(method, url, status) of each row of `hudproxy inspect`'s table."""
    rows = []
    for line in shown.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 5 and cells[1].isdigit():
            rows.append((cells[2], cells[3], cells[4]))
    return rows


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_inspect_lists_http_and_mcp_rows_of_a_mixed_cassette(tmp_path: Path, fmt: str) -> None:
    path = mixed_cassette(tmp_path / f"mixed.{fmt}")
    shown = inspect_output(path)
    assert "8 of 8 interactions" in shown
    assert table_rows(shown) == [
        ("GET", "http://api.test/orders/A1", "200"),
        ("MCP", "mcp://wallet initialize → server identity", "200"),
        ("MCP", "mcp://wallet tools/list → 3 tools", "200"),
        ("MCP", "mcp://wallet tools/call get_balance → balance: 500", "200"),
        ("PATCH", "http://api.test/orders/A1", "200"),
        ("MCP", 'mcp://wallet tools/call charge_card {"amount":100} → charged 100', "200"),
        ("MCP", "mcp://wallet tools/call get_balance → balance: 400", "200"),
        ("MCP", 'mcp://wallet tools/call charge_card {"amount":99999} → error -32603: card declined', "500"),
    ]
