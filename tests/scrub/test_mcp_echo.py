"""An MCP tool result that repeats a secret from the call's arguments is scrubbed there too (echo scrubbing)."""

from __future__ import annotations

from hudproxy.interaction.mcp import Exchange
from hudproxy.scrub.mcp import scrub_exchange
from hudproxy.scrub.policy import ScrubPolicy

SECRET = "qwertyuiop-7788-zxcv"


def test_a_tool_result_echoing_an_argument_secret_is_scrubbed() -> None:
    exchange = Exchange(
        server="crm",
        method="tools/call",
        params={"name": "login", "arguments": {"api_key": SECRET, "user": "ada"}},
        result={"content": [{"type": "text", "text": f"logged in as ada with key {SECRET}"}]},
    )
    scrubbed = scrub_exchange(exchange, ScrubPolicy.default())
    placeholder = scrubbed.params["arguments"]["api_key"]
    assert SECRET not in repr(scrubbed)
    assert placeholder.startswith("SCRUBBED:")
    assert scrubbed.result["content"][0]["text"] == f"logged in as ada with key {placeholder}"
    assert scrubbed.params["arguments"]["user"] == "ada"


def test_scrubbing_off_keeps_the_exchange() -> None:
    exchange = Exchange(server="crm", method="tools/call", params={"arguments": {"api_key": SECRET}}, result={})
    assert scrub_exchange(exchange, ScrubPolicy.disabled()) == exchange
