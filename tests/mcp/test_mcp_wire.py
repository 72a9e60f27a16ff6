"""Era-neutral storage, served capabilities, upstream options and inspect summaries: small truth tables."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_helpers import text_result, wallet_exchanges

from hudproxy.errors import ConfigError
from hudproxy.mcp.exchange import Exchange, to_interaction
from hudproxy.mcp.summary import mcp_summary
from hudproxy.mcp.upstream import Upstream, parse_headers
from hudproxy.mcp.wire import era_neutral, served, served_capabilities

STAMP = {"io.modelcontextprotocol/serverInfo": {"name": "w"}}


@pytest.mark.parametrize(
    ("result", "stored"),
    [
        pytest.param({"tools": [], "ttlMs": 0, "cacheScope": "private"}, {"tools": []}, id="cache-hints"),
        pytest.param({"content": [], "resultType": "complete"}, {"content": []}, id="complete"),
        pytest.param({"resultType": "input_required", "x": 1}, {"resultType": "input_required", "x": 1}, id="other"),
        pytest.param({"content": [], "_meta": STAMP}, {"content": []}, id="stamp-only-meta"),
        pytest.param({"content": [], "_meta": {**STAMP, "k": 1}}, {"content": [], "_meta": {"k": 1}}, id="own-meta"),
    ],
)
def test_results_are_stored_era_neutral(result: dict[str, Any], stored: dict[str, Any]) -> None:
    assert era_neutral(result) == stored


def test_served_results_say_complete_unless_recorded_otherwise() -> None:
    assert served({"content": []}) == {"resultType": "complete", "content": []}
    assert served({"resultType": "input_required"})["resultType"] == "input_required"


@pytest.mark.parametrize(
    ("modern", "served_tools"),
    [pytest.param(False, {"listChanged": True}, id="handshake"), pytest.param(True, {}, id="modern-no-listen")],
)
def test_capabilities_promise_only_what_replay_honours(modern: bool, served_tools: dict[str, Any]) -> None:
    recorded = {"tools": {"listChanged": True}, "resources": {"subscribe": True}, "logging": {}}
    served_caps = served_capabilities(recorded, modern)
    assert served_caps["tools"] == served_tools and served_caps["logging"] == {}
    assert served_caps["resources"] == ({} if modern else {"subscribe": True})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({}, "exactly one of", id="neither"),
        pytest.param({"command": "a", "url": "http://h/mcp"}, "exactly one of", id="both"),
        pytest.param({"command": "  "}, "is empty", id="empty-command"),
        pytest.param({"url": "h:9000/mcp"}, "http:// or https://", id="no-scheme"),
    ],
)
def test_upstream_options_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Upstream(**kwargs)


def test_upstream_description_never_shows_credentials() -> None:
    assert Upstream(url="https://user:pw@mcp.example.com:8443/mcp?token=t").describe() == (
        "https://mcp.example.com:8443/mcp"
    )
    assert parse_headers(["Authorization: Bearer a:b", "X-Key:k"]) == {"Authorization": "Bearer a:b", "X-Key": "k"}
    with pytest.raises(ConfigError):
        parse_headers(["no colon"])


@pytest.mark.parametrize(
    ("exchange", "target"),
    [
        pytest.param(wallet_exchanges()[0], "initialize → server identity", id="identity"),
        pytest.param(wallet_exchanges()[1], "tools/list → 3 tools", id="listing"),
        pytest.param(wallet_exchanges()[3], 'tools/call charge_card {"amount":100} → charged 100', id="call"),
        pytest.param(wallet_exchanges()[5], 'tools/call charge_card {"amount":99999} → error -32603: card declined'),
        pytest.param(
            Exchange("w", "tools/call", {"name": "t", "arguments": {}}, {**text_result("no"), "isError": True}),
            "tools/call t → isError: no",
            id="is-error",
        ),
        pytest.param(
            Exchange("w", "prompts/get", {"name": "p", "arguments": {"who": "Ann"}}, {"messages": []}),
            'prompts/get p {"who":"Ann"} → {"messages": []}',
            id="prompt",
        ),
    ],
)
def test_inspect_summary(exchange: Exchange, target: str) -> None:
    summary = mcp_summary(to_interaction(exchange))
    assert summary["target"] == target
    assert summary["url"] == f"mcp://{exchange.server} {target}"
