"""`hudproxy serve` in a subprocess, driven by the MCP SDK's own client over streamable HTTP and stdio."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from env_peers import ROOT, free_port, hudproxy_process, wait_for_port
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def shop_url() -> Iterator[str]:
    port = free_port()
    with hudproxy_process("serve", "envs/shop/env.py", "--port", str(port)) as proc:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_tools_and_scenario_prompts_over_streamable_http(shop_url: str, mode: str) -> None:
    async with Client(f"{shop_url}/s/{mode}-run/mcp", mode=mode, cache=None) as client:  # type: ignore[arg-type]
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"get_order", "update_order", "send_email", "hudproxy_submit"} <= set(tools)
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) == {"update-order", "refund-order"}
        assert [(a.name, a.required) for a in prompts["update-order"].arguments or []] == [
            ("order_id", True), ("status", False),
        ]  # fmt: skip
        prompt = await client.get_prompt("update-order", {"order_id": "A1"})
        assert prompt.messages[0].content.text.startswith("Update order A1 to shipped")  # type: ignore[union-attr]
        shipped = await client.call_tool("update_order", {"order_id": "A1", "status": "shipped"})
        assert shipped.structured_content is not None and shipped.structured_content["status"] == "shipped"
        assert json.loads(shipped.content[0].text)["status"] == "shipped"  # type: ignore[union-attr]
        missing = await client.call_tool("get_order", {"order_id": "A99"})
        assert missing.is_error and "404" in missing.content[0].text  # type: ignore[union-attr]
        graded = await client.call_tool("hudproxy_submit", {"answer": "done"})
        assert graded.structured_content == {
            "scenario": "update-order", "reward": 1.0,
            "subscores": {"status": 1.0, "used_update_tool": 1.0}, "notes": [],
        }  # fmt: skip


async def test_each_session_prefix_is_an_isolated_run(shop_url: str) -> None:
    alice_url, bob_url = f"{shop_url}/s/alice/mcp", f"{shop_url}/s/bob/mcp"
    async with Client(alice_url, cache=None) as alice, Client(bob_url, cache=None) as bob:
        await alice.call_tool("update_order", {"order_id": "A4", "status": "shipped"})
        seen_by_bob = await bob.call_tool("get_order", {"order_id": "A4"})
        seen_by_alice = await alice.call_tool("get_order", {"order_id": "A4"})
    assert seen_by_bob.structured_content["status"] == "pending"  # type: ignore[index]
    assert seen_by_alice.structured_content["status"] == "shipped"  # type: ignore[index]


async def test_serve_over_stdio() -> None:
    args = ["-c", "from hudproxy.cli import main; main()", "serve", str(ROOT / "envs/minimal"), "--stdio"]
    params = StdioServerParameters(command=sys.executable, args=args, cwd=str(ROOT))
    async with Client(params, cache=None) as client:
        assert {t.name for t in (await client.list_tools()).tools} >= {"read_note", "count_words"}
        counted = await client.call_tool("count_words", {"text": "one two three"})
    assert counted.structured_content == {"result": 3}
