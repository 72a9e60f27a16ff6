"""Mocks: every fake validates against its tool's output schema, is fixed by seed and arguments, and is JSON;
mock_tool beats mock services, which beat mock(), which beats the real tool."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
from typing import Any, Literal
from uuid import UUID

import pytest
from env_peers import weather_server
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from pydantic import BaseModel, Field

from envs.shop.service import create_app
from hudproxy.env import Environment
from hudproxy.env.fake import validator_for
from hudproxy.env.local import FunctionTools
from hudproxy.env.mocks import fake_output
from hudproxy.env.openapi import operations
from hudproxy.env.remote import UrlConnector
from hudproxy.env.tools import ToolSpec, wrap


class Status(enum.Enum):
    DRAFT = "draft"
    SENT = "sent"


class Address(BaseModel):
    street: str
    zip: str = Field(pattern=r"^\d{5}$")
    country: Literal["FR", "DE", "NO"]


class Customer(BaseModel):
    id: UUID
    email: str = Field(json_schema_extra={"format": "email"})
    since: dt.datetime
    address: Address | None
    tags: list[str] = Field(max_length=3)
    referrer: Customer | None = None


class Line(BaseModel):
    sku: str = Field(min_length=3, max_length=8)
    qty: int = Field(ge=1, le=50)
    price: float = Field(gt=0, multiple_of=0.25)


class Invoice(BaseModel):
    number: int = Field(ge=1000, le=9999)
    status: Status
    due: dt.date
    lines: list[Line] = Field(min_length=1)
    customer: Customer


def billing_app() -> FastAPI:
    """An API whose responses use $ref, enums, formats, patterns, bounds, nullable and recursion."""
    app = FastAPI(title="billing")

    @app.get("/customers/{customer_id}", response_model=Customer)
    def get_customer(customer_id: str) -> Any: ...

    @app.get("/invoices", response_model=list[Invoice])
    def list_invoices(status: Status | None = None) -> Any: ...

    @app.post("/invoices", response_model=Invoice)
    def create_invoice(invoice: Invoice) -> Any: ...

    return app


def example_specs() -> list[ToolSpec]:
    """The tools of every example: the shop, the billing API, the minimal env, an MCP server."""
    specs = [op.spec for op in operations(create_app().openapi(), "shop")]
    specs += [op.spec for op in operations(billing_app().openapi(), "billing")]
    local = FunctionTools()
    from envs.minimal.env import env as minimal

    for tool, _spec in minimal.local.registry.values():
        local.add(tool.fn)
    specs += local.tools()
    tools = asyncio.run(weather_server().list_tools())
    connector = UrlConnector("http://unused")
    specs += [ToolSpec(t.name, "", t.input_schema, t.output_schema, False, connector.label) for t in tools]
    return specs


SPECS = example_specs()
ARGS = st.dictionaries(
    st.sampled_from(["order_id", "id", "q", "page"]), st.text(max_size=8) | st.integers(), max_size=3
)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), args=ARGS)
def test_every_mock_validates_against_its_output_schema(spec: ToolSpec, seed: int, args: dict[str, Any]) -> None:
    value = fake_output(spec, args, seed)
    json.dumps(value)  # plain JSON, nothing Python-only
    if spec.output_schema is not None:
        errors = list(validator_for(spec.output_schema).iter_errors(wrap(spec, value)))
        assert not errors, errors[0].message
    assert fake_output(spec, args, seed) == value  # same seed, same arguments: same fake


def test_fakes_depend_on_seed_and_arguments() -> None:
    spec = next(s for s in SPECS if s.name == "get_customer")
    fakes = {json.dumps(fake_output(spec, {"customer_id": str(n)}, 0), sort_keys=True) for n in range(10)}
    assert len(fakes) == 10
    assert fake_output(spec, {"customer_id": "1"}, 1) != fake_output(spec, {"customer_id": "1"}, 2)
    invoice = fake_output(next(s for s in SPECS if s.name == "create_invoice"), {}, 7)
    assert invoice["status"] in ("draft", "sent") and 1000 <= invoice["number"] <= 9999
    assert dt.date.fromisoformat(invoice["due"]) and invoice["lines"]


class MockPaymentService:
    def __init__(self) -> None:
        self.charges: list[dict[str, Any]] = []

    async def charge(self, order_id: str, amount: float) -> dict[str, Any]:
        """Charge a card."""
        self.charges.append({"order_id": order_id, "amount": amount})
        return {"charge_id": f"ch_{len(self.charges)}", "amount": amount}

    async def _internal(self) -> None: ...


@pytest.mark.anyio
async def test_precedence_mock_tool_then_services_then_mock_then_real() -> None:
    env = Environment("shop")
    env.connect_fastapi(create_app)
    env.mock_service(MockPaymentService)
    async with env:
        assert {"charge"} <= {s.name for s in env.tool_specs()} and env.spec("_internal") is None
        real = await env.call_tool("get_order", order_id="A1")
        assert real["customer"] == "bob"
        env.mock(seed=3)
        faked = await env.call_tool("get_order", order_id="A1")
        assert faked != real and faked == await env.call_tool("get_order", order_id="A1")
        assert (await env.call_tool("charge", order_id="A1", amount=2.5))["charge_id"] == "ch_1"  # the service answers
        env.mock_tool("get_order", {"id": "A1", "status": "shipped"})
        env.mock_tool("charge", lambda args: {"charge_id": "fixed", "amount": args["amount"]})
        assert await env.call_tool("get_order", order_id="A1") == {"id": "A1", "status": "shipped"}
        assert await env.call_tool("charge", order_id="A1", amount=1.0) == {"charge_id": "fixed", "amount": 1.0}
        assert env.default_run.calls(kind="http").call_count == 1  # only the unmocked first call reached the app
        assert env.service(MockPaymentService).charges == [{"order_id": "A1", "amount": 2.5}]


@pytest.mark.anyio
async def test_mock_services_are_per_run() -> None:
    env = Environment("pay")
    env.mock_service(MockPaymentService)
    async with env:
        one, two = env.session_run("one"), env.session_run("two")
        await env.call(one, "charge", {"order_id": "A1", "amount": 1.0})
        await env.call(one, "charge", {"order_id": "A2", "amount": 2.0})
        await env.call(two, "charge", {"order_id": "B1", "amount": 3.0})
        assert [c["order_id"] for c in one.service(MockPaymentService).charges] == ["A1", "A2"]
        assert [c["order_id"] for c in two.service(MockPaymentService).charges] == ["B1"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mocked_results_reach_mcp_clients_as_json(mode: str) -> None:
    env = Environment("billing")
    env.connect_fastapi(billing_app)
    env.mock(seed=1)
    async with env, Client(env.server(), mode=mode, cache=None) as client:  # type: ignore[arg-type]
        result = await client.call_tool("get_customer", {"customer_id": "c1"})
        listed = await client.call_tool("list_invoices", {})
    assert not result.is_error and json.loads(result.content[0].text) == result.structured_content
    assert isinstance(json.loads(listed.content[0].text), list) and "result" in listed.structured_content
