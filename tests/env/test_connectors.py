"""Every connector against a real peer: the shop in-process and over HTTP, an MCP server, the local hub."""

from __future__ import annotations

from typing import Any

import pytest

from envs.shop.service import create_app
from hudproxy.env import Environment, ToolClashError, ToolError
from hudproxy.errors import ConfigError
from hudproxy.scrub.placeholder import without_hashes

pytestmark = pytest.mark.anyio
SHOP_TOOLS = {"get_order", "update_order", "search_orders", "login", "create_refund", "health"}


async def test_fastapi_routes_become_tools_called_in_process() -> None:
    env = Environment("shop")
    env.connect_fastapi(create_app)
    async with env:
        names = {s.name for s in env.tool_specs()}
        assert names >= SHOP_TOOLS
        update = env.spec("update_order")
        assert update is not None and set(update.input_schema["required"]) == {"order_id", "status"}
        assert update.input_schema["properties"]["status"]["enum"] == ["pending", "paid", "shipped"]
        shipped = await env.call_tool("update_order", order_id="A1", status="shipped")
        assert shipped["status"] == "shipped"
        assert (await env.call_tool("get_order", order_id="A1"))["status"] == "shipped"
        page = await env.call_tool("search_orders", status="paid", per_page=2)
        assert [o["status"] for o in page["items"]] == ["paid", "paid"]
        with pytest.raises(ToolError, match="404"):
            await env.call_tool("get_order", order_id="A99")
    http = env.default_run.calls(kind="http")
    assert [(c.method, c.path, c.status) for c in http][:2] == [
        ("PATCH", "/orders/A1", 200),
        ("GET", "/orders/A1", 200),
    ]
    assert http[0].json == {"status": "shipped"}


async def test_fastapi_factory_gives_each_run_its_own_app() -> None:
    env = Environment("shop")
    env.connect_fastapi(create_app)
    async with env:
        first, second = env.session_run("one"), env.session_run("two")
        await env.call(first, "update_order", {"order_id": "A1", "status": "shipped"})
        assert (await env.call(second, "get_order", {"order_id": "A1"}))["status"] == "pending"
        assert (await env.call(first, "get_order", {"order_id": "A1"}))["status"] == "shipped"


async def test_openapi_against_the_shop_over_real_http(shop_upstream: str) -> None:
    env = Environment("shop")
    env.connect_openapi(f"{shop_upstream}/openapi.json", base_url=shop_upstream, headers={"authorization": "Bearer x"})
    async with env:
        assert {s.name for s in env.tool_specs()} >= SHOP_TOOLS
        refund = env.spec("create_refund")
        assert refund is not None and "authorization" not in refund.input_schema["properties"]  # preset header
        token = await env.call_tool("login", username="demo", password="demo-password")
        assert token["token_type"] == "bearer"
        order = await env.call_tool("get_order", order_id="A2")
        assert order["id"] == "A2" and order["status"] == "paid"
        with pytest.raises(ToolError, match="401"):
            await env.call_tool("create_refund", order_id="A2", amount=3.0)
    calls = env.default_run.calls(kind="http")
    assert without_hashes(calls[0].request_body or "") == '{"password": "SCRUBBED", "username": "demo"}'
    assert "shop-secret-token-123" not in (calls[0].response_body or "")  # scrubbed before it is kept
    assert ("x-hudproxy-session", "default") in calls[1].request_headers


async def test_openapi_resolves_refs_and_names_operations() -> None:
    json_of = lambda schema: {"application/json": {"schema": schema}}  # noqa: E731
    pet = {"$ref": "#/components/schemas/Pet"}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "servers": [{"url": "http://127.0.0.1:9"}],
        "paths": {
            "/pets/{petId}": {
                "parameters": [{"$ref": "#/components/parameters/PetId"}],
                "get": {"responses": {"200": {"$ref": "#/components/responses/PetOk"}}},
            },
            "/pets": {
                "post": {
                    "operationId": "addPet",
                    "requestBody": {"required": True, "content": json_of(pet)},
                    "responses": {"201": {"description": "ok", "content": json_of({"type": "array", "items": pet})}},
                }
            },
        },
        "components": {
            "parameters": {"PetId": {"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}},
            "responses": {"PetOk": {"description": "ok", "content": json_of(pet)}},
            "schemas": {
                "Pet": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "owner": {"$ref": "#/components/schemas/Owner"}},
                },
                "Owner": {
                    "type": "object", "properties": {"email": {"type": "string", "format": "email", "nullable": True}}
                },
            },
        },
    }  # fmt: skip
    env = Environment("pets")
    env.connect_openapi(document)
    async with env:
        get_pet, add_pet = env.spec("get_pets_by_petId"), env.spec("addPet")
    assert get_pet is not None and add_pet is not None
    assert get_pet.input_schema["required"] == ["petId"]
    assert get_pet.output_schema is not None and set(get_pet.output_schema["$defs"]) == {"Pet", "Owner"}
    assert get_pet.output_schema["$defs"]["Owner"]["properties"]["email"]["type"] == ["string", "null"]
    assert add_pet.input_schema["required"] == ["name"] and "owner" in add_pet.input_schema["properties"]
    assert add_pet.wrapped and add_pet.output_schema is not None
    assert add_pet.output_schema["properties"]["result"]["items"] == {"$ref": "#/$defs/Pet"}


async def test_url_connector_lists_and_calls_a_real_mcp_server(mcp_url: str) -> None:
    env = Environment("weather")
    env.connect_url(mcp_url, prefix="wx")
    async with env:
        assert {"wx_forecast", "wx_shout", "wx_get_order"} <= {s.name for s in env.tool_specs()}
        assert await env.call_tool("wx_forecast", city="Oslo") == {"city": "Oslo", "celsius": 21.5, "sky": "clear"}
        assert await env.call_tool("wx_shout", text="hi") == "HI"
    assert [c.path for c in env.default_run.calls()] == ["/tools/call/wx_forecast", "/tools/call/wx_shout"]


async def test_clash_names_both_sources_and_prefix_include_exclude_resolve_it(mcp_url: str) -> None:
    env = Environment("both")
    env.connect_fastapi(create_app)
    env.connect_url(mcp_url)
    with pytest.raises(ToolClashError, match=r"'get_order' is offered by both fastapi app .* and mcp server http"):
        await env.start()
    await env.stop()
    for mount in ({"exclude": ["get_order"]}, {"include": ["forecast", "shout"]}, {"prefix": "weather"}):
        env = Environment("both")
        env.connect_fastapi(create_app)
        env.connect_url(mcp_url, **mount)
        async with env:
            order = await env.call_tool("get_order", order_id="A3")
            assert order["status"] == "shipped"  # the shop's, not the weather server's


async def test_local_tools_with_schemas_from_the_signature() -> None:
    env = Environment("local")

    @env.tool
    async def lookup(order_id: str, verbose: bool = False) -> dict[str, Any]:
        """Find an order."""
        return {"id": order_id, "verbose": verbose}

    @env.tool(name="double")
    def twice(n: int) -> int:
        return n * 2

    async with env:
        assert await env.call_tool("lookup", order_id="A1") == {"id": "A1", "verbose": False}
        assert await env.call_tool("double", n="21") == 42
        assert env.spec("double").wrapped  # type: ignore[union-attr]
        with pytest.raises(ToolError, match="invalid arguments for double: n"):
            await env.call_tool("double", n="many")
        with pytest.raises(ToolError, match="unknown tool 'nope'"):
            await env.call_tool("nope")


async def test_connect_hub_loads_an_environment_by_name() -> None:
    env = Environment("outer")
    env.connect_hub("minimal", prefix="mini")
    async with env:
        note = await env.call_tool("mini_read_note", title="welcome")
        assert note["title"] == "welcome"
        assert await env.call_tool("mini_count_words", text="a b c") == 3


async def test_connect_hub_honours_hudproxy_hub_and_lists_what_exists(tmp_path, monkeypatch) -> None:
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "env.py").write_text(
        "from hudproxy.env import Environment\nenv = Environment('tiny')\n\n"
        "@env.tool\ndef ping() -> str:\n    return 'pong'\n"
    )
    monkeypatch.setenv("HUDPROXY_HUB", str(tmp_path))
    env = Environment("outer")
    env.connect_hub("tiny")
    async with env:
        assert await env.call_tool("ping") == "pong"
    with pytest.raises(ConfigError, match=r"no environment 'nope' in the hub .*available: tiny"):
        Environment("x").connect_hub("nope")
