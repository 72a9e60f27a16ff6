"""Agents: given a prompt and tools, call tools, then give a final answer.

`ScriptedAgent` replays a fixed plan (tests, smoke checks); `OpenAIChatAgent` drives any OpenAI-compatible
chat-completions API (tools as function definitions, looping until the model stops calling them). Both call
tools only through `AgentTools.call`, the run's journaled path, and keep an OpenAI-style transcript.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from hudproxy.env.run import current_run
from hudproxy.env.tools import ToolError, ToolSpec, as_text
from hudproxy.errors import ConfigError


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Final:
    answer: str


@dataclass(frozen=True)
class ToolReply:
    """What the agent gets back: text for the model, the value for code, whether it was an error."""

    text: str
    value: Any = None
    is_error: bool = False


@dataclass
class AgentResult:
    answer: str
    transcript: list[dict[str, Any]] = field(default_factory=list)


class AgentTools:
    """The tools of one run, as an agent sees them; `call` never raises for a tool's own failure."""

    def __init__(self, specs: list[ToolSpec], call: Callable[[str, dict[str, Any]], Awaitable[Any]]) -> None:
        self.specs = specs
        self._call = call

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolReply:
        try:
            value = await self._call(name, arguments)
        except ToolError as exc:
            return ToolReply(f"Error: {exc}", None, True)
        return ToolReply(as_text(value), value)


@runtime_checkable
class Agent(Protocol):
    async def run(self, prompt: str, tools: AgentTools) -> AgentResult: ...


class ScriptedAgent:
    """Calls the given tools in order and answers with the `Final` step (or "" if there is none)."""

    def __init__(self, steps: Sequence[ToolCall | Final]) -> None:
        self.steps = list(steps)

    async def run(self, prompt: str, tools: AgentTools) -> AgentResult:
        transcript: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        for number, step in enumerate(self.steps):
            if isinstance(step, Final):
                transcript.append({"role": "assistant", "content": step.answer})
                return AgentResult(step.answer, transcript)
            call_id = f"call_{number}"
            transcript.append({"role": "assistant", "tool_calls": [_tool_call(call_id, step.name, step.arguments)]})
            reply = await tools.call(step.name, step.arguments)
            transcript.append({"role": "tool", "tool_call_id": call_id, "name": step.name, "content": reply.text})
        return AgentResult("", transcript)


def _tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


SESSION_HEADER = "X-Hudproxy-Session"
# The answers a completion is asked again after: throttled, or a server error that may pass. Not 501 (Not
# Implemented: a replay's "nothing recorded for this" does not change on a retry) nor other 5xx that do not pass.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class OpenAIChatAgent:
    """An OpenAI-compatible chat-completions client (plain httpx: no SDK needed, any compatible server works).

    `api_key` defaults to $OPENAI_API_KEY and `base_url` to $OPENAI_BASE_URL or OpenAI's API. A completion has no
    side effect, so a 429, a 500/502/503/504 or a dropped connection is asked again, up to `retries` times (after the
    answer's Retry-After, else a doubling pause from `backoff` seconds), as a production agent loop must.
    `stream=True` asks for server-sent events (with the final usage chunk). Inside a run each model call is a
    journal row (kind `llm`, with the usage the answer reports) and, with `session_header=True` (an LLM cassette:
    hudproxy's server is the base URL), carries the run's `X-Hudproxy-Session`, so each run records and replays
    its own calls.
    """

    def __init__(
        self, model: str, *, base_url: str | None = None, api_key: str | None = None, system: str | None = None,
        max_steps: int = 20, temperature: float | None = None, timeout: float = 120.0, seed: int | None = None,
        retries: int = 3, backoff: float = 0.5, stream: bool = False, session_header: bool = False,
    ) -> None:  # fmt: skip
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.system = system
        self.max_steps = max_steps
        self.temperature = temperature
        self.timeout = timeout
        self.seed = seed  # sent as the API's `seed` (best-effort determinism), e.g. per run by `hudproxy eval`
        self.retries = retries
        self.backoff = backoff
        self.stream = stream
        self.session_header = session_header

    async def run(self, prompt: str, tools: AgentTools) -> AgentResult:
        if not self.api_key:
            raise ConfigError("OpenAIChatAgent needs an API key: set OPENAI_API_KEY or pass api_key=...")
        names = {_function_name(s.name): s.name for s in tools.specs}  # function names allow no dots
        functions = [{**s.to_openai(), "function": {**s.to_openai()["function"], "name": _function_name(s.name)}}
                     for s in tools.specs]  # fmt: skip
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": prompt})
        headers = {"Authorization": f"Bearer {self.api_key}"}
        run = current_run.get()
        if self.session_header and run is not None:
            headers[SESSION_HEADER] = run.session_id
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout,
                                     verify=_tls()) as client:  # fmt: skip
            for _ in range(self.max_steps):
                message = await self._complete(client, messages, functions)
                messages.append(message)
                calls = message.get("tool_calls") or []
                if not calls:
                    return AgentResult(message.get("content") or "", messages)
                for call in calls:
                    messages.append(await self._answer(call, names, tools))
        return AgentResult("", messages)

    async def _complete(
        self, client: httpx.AsyncClient, messages: list[dict[str, Any]], functions: list[dict[str, Any]]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if functions:
            body["tools"] = functions
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.seed is not None:
            body["seed"] = self.seed
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        response = await self._post(client, body)
        if response.status_code != 200:
            status, text = response.status_code, response.text[:300]
            raise ConfigError(f"{self.base_url}/chat/completions answered {status}: {text}")
        message = streamed_message(response.text) if self.stream else response.json()["choices"][0]["message"]
        return {k: v for k, v in message.items() if v is not None}

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
        """POST the completion, asking again after a 429, a 5xx or a dropped connection (the last one raises)."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            started = time.perf_counter()
            try:
                response = await client.post("/chat/completions", json=body)
            except httpx.TransportError as exc:
                if last:
                    raise ConfigError(f"{self.base_url}/chat/completions: {exc!r} ({attempt + 1} attempts)") from None
                await asyncio.sleep(self.backoff * 2**attempt)
                continue
            run = current_run.get()
            if run is not None:  # every answer the model gave, retried ones too: the journal shows the 429s
                run.journal.http(response.request, response, started, kind="llm")
            if last or response.status_code not in RETRIED_STATUSES:
                return response
            await asyncio.sleep(_retry_after(response.headers.get("retry-after"), self.backoff * 2**attempt))
        raise AssertionError("unreachable")

    async def _answer(self, call: dict[str, Any], names: dict[str, str], tools: AgentTools) -> dict[str, Any]:
        function = call.get("function", {})
        name = names.get(function.get("name", ""), function.get("name", ""))
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            text = f"Error: the arguments of {name} are not valid JSON"
        else:
            text = (await tools.call(name, arguments if isinstance(arguments, dict) else {})).text
        return {"role": "tool", "tool_call_id": call.get("id", ""), "content": text}


def _retry_after(value: str | None, default: float, cap: float = 30.0) -> float:
    """Seconds to wait as a Retry-After header says (seconds; an HTTP date counts as the default), capped."""
    try:
        return min(max(float(value), 0.0), cap) if value is not None else default
    except ValueError:
        return default


def streamed_message(text: str) -> dict[str, Any]:
    """The assistant message a chat-completions event stream adds up to: content and tool calls by index."""
    message: dict[str, Any] = {"role": "assistant"}
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for line in text.splitlines():
        data = line[5:].strip() if line.startswith("data:") else ""
        if not data or data == "[DONE]":
            continue
        chunk = json.loads(data)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                content.append(delta["content"])
            for part in delta.get("tool_calls") or []:
                empty = {"type": "function", "function": {"name": "", "arguments": ""}}
                call = calls.setdefault(part.get("index", len(calls)), empty)
                if part.get("id"):
                    call["id"] = part["id"]
                function = part.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
    message["content"] = "".join(content) if content or not calls else None
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    return message


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: httpx builds one per client, loading the CA bundle (~0.1 s) for every run."""
    return httpx.create_ssl_context()


def _function_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
