"""An Environment as an MCP server (the SDK's low-level `Server`), for `hudproxy serve` and `hudproxy dev`.

- tools/list, tools/call: the environment's tools; each call is journaled in the caller's run, which is the
  hudproxy session of the request (`/s/<id>/mcp` or `X-Hudproxy-Session`), so MCP clients are isolated like runs.
- prompts/list, prompts/get: **scenarios are MCP prompts**. Getting one runs its setup in the caller's session
  and returns the prompt as a user message; the tool `hudproxy_submit(answer)` (listed only when the env has
  scenarios) sends the answer back and returns the reward, sub-scores and notes.

Handlers read `env` on every request, so `hudproxy dev` can swap the registry under a running server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from hudproxy.env.agents import AgentResult
from hudproxy.env.grading import finish_graded
from hudproxy.env.run import RunContext, current_run
from hudproxy.env.scenario import ActiveScenario, ScenarioError
from hudproxy.env.tools import ToolError, as_text, to_call_result

if TYPE_CHECKING:
    from hudproxy.env.environment import Environment

SESSION_SCOPE_KEY = "hudproxy.session"
SESSION_HEADER = b"x-hudproxy-session"
SUBMIT = "hudproxy_submit"
SUBMIT_TOOL = types.Tool(
    name=SUBMIT,
    description="Submit the final answer to the scenario started with prompts/get; returns its reward.",
    input_schema={"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
    output_schema={
        "type": "object",
        "properties": {
            "scenario": {"type": "string"},
            "reward": {"type": "number"},
            "subscores": {"type": "object", "additionalProperties": {"type": "number"}},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["scenario", "reward"],
    },
)


def session_of(ctx: ServerRequestContext[Any]) -> str | None:
    scope = getattr(ctx.request, "scope", None)
    if not scope:
        return None
    if scope.get(SESSION_SCOPE_KEY):
        return scope[SESSION_SCOPE_KEY]
    for name, value in scope.get("headers", ()):
        if name == SESSION_HEADER:
            return value.decode("latin-1")
    return None


def build_server(env: Environment) -> Server[Any]:
    def run_of(ctx: ServerRequestContext[Any]) -> RunContext:
        return env.session_run(session_of(ctx))

    def input_schema(name: str) -> dict[str, Any] | None:
        spec = env.spec(name)
        return spec.input_schema if spec is not None else (SUBMIT_TOOL.input_schema if name == SUBMIT else None)

    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        tools = [spec.to_mcp() for spec in env.tool_specs()]
        return types.ListToolsResult(tools=[*tools, SUBMIT_TOOL] if env.scenarios else tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        run = run_of(ctx)
        token = current_run.set(run)
        try:
            if params.name == SUBMIT and env.scenarios:
                return await submit(env, run, (params.arguments or {}).get("answer"))
            value = await env.call(run, params.name, dict(params.arguments or {}))
            return to_call_result(env.spec(params.name), value)
        except (ToolError, ScenarioError) as exc:
            return types.CallToolResult(content=[types.TextContent(type="text", text=str(exc))], is_error=True)
        finally:
            current_run.reset(token)

    async def list_prompts(ctx: ServerRequestContext[Any], params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[s.prompt() for s in env.scenarios.values()])

    async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> types.GetPromptResult:
        scenario = env.scenarios.get(params.name)
        if scenario is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown scenario {params.name!r}; defined: {sorted(env.scenarios)}")
        run = run_of(ctx)
        token = current_run.set(run)
        try:
            if run.scenario is not None:
                await run.scenario.abandon()
                run.scenario = None
            run.scenario = await ActiveScenario.start(scenario, dict(params.arguments or {}))
        except ScenarioError as exc:
            raise MCPError(types.INVALID_PARAMS, str(exc)) from None
        finally:
            current_run.reset(token)
        message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=run.scenario.prompt))
        return types.GetPromptResult(description=scenario.description or None, messages=[message])

    return Server(
        env.name,
        version="1.0.0",
        instructions=env.instructions,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


async def submit(env: Environment, run: RunContext, answer: Any) -> types.CallToolResult:
    """Grade the session's started scenario with the answer (the scenario or its rubric reads this run's journal)."""
    active, run.scenario = run.scenario, None
    if active is None:
        raise ToolError("no scenario is running in this session: get one of the prompts first")
    outcome = AgentResult("" if answer is None else str(answer))
    result = (await finish_graded(env, run, active, outcome, active.scenario.rubric)).result
    data = {"scenario": active.scenario.name, **result.as_dict()}
    return types.CallToolResult(content=[types.TextContent(type="text", text=as_text(data))], structured_content=data)
