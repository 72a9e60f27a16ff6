"""The Environment SDK: tools from apps, APIs and MCP servers, mocks, scenarios and agents, one run isolated
from the next.

    from hudproxy.env import Environment, ScriptedAgent, ToolCall, Final

    env = Environment("shop")
    env.connect_fastapi(create_app)              # a factory: every run gets its own app and state

    @env.scenario("update-order")
    async def update_order(order_id: str):
        answer = yield f"Update order {order_id} to shipped"
        yield 1.0 if (await env.call_tool("get_order", order_id=order_id))["status"] == "shipped" else 0.0

    async with env:
        run = await env.run("update-order", ScriptedAgent([...]), order_id="A1")
        run.reward, run.transcript, run.calls(tool="update_order")
"""

from hudproxy.env.agents import (
    Agent,
    AgentResult,
    AgentTools,
    Final,
    OpenAIChatAgent,
    ScriptedAgent,
    ToolCall,
    ToolReply,
)
from hudproxy.env.connector import Connector
from hudproxy.env.environment import Environment
from hudproxy.env.fake import MockSchemaError, fake
from hudproxy.env.journal import tool_spec
from hudproxy.env.run import Run, RunContext
from hudproxy.env.scenario import ScenarioError, ScenarioResult
from hudproxy.env.tools import ToolClashError, ToolError, ToolSpec

__all__ = [
    "Agent",
    "AgentResult",
    "AgentTools",
    "Connector",
    "Environment",
    "Final",
    "MockSchemaError",
    "OpenAIChatAgent",
    "Run",
    "RunContext",
    "ScenarioError",
    "ScenarioResult",
    "ScriptedAgent",
    "ToolCall",
    "ToolClashError",
    "ToolError",
    "ToolReply",
    "ToolSpec",
    "fake",
    "tool_spec",
]
