"""A run's own journal: an in-memory list of `hudproxy.journal.Call`, one list per run, so nothing is shared.

Each tool call is one `mcp` row (method `MCP`, path `/tools/call/<name>`, body: the arguments), and each HTTP
request a connector makes for it one `http` row, scrubbed like the replay journal. Graders read it with the same
`CallSpec` assertions as a replay session, or as scores (`score_called` → 1.0 / 0.0).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from hudproxy.faults.effects import FAULT_HEADER
from hudproxy.interaction.body import as_text
from hudproxy.journal.assertions import (
    CallSpec,
    assert_called,
    assert_called_before,
    assert_not_called,
    assert_not_retried,
    assert_retried,
)
from hudproxy.journal.query import Call, CallList, PathPattern
from hudproxy.journal.rows import iso_time
from hudproxy.replay.unmatched import UNMATCHED_HEADER
from hudproxy.resources.answers import SYNTHESIZED_HEADER
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_headers, scrub_json, scrub_url

TOOL_PATH = "/tools/call/"
SCRUB = ScrubPolicy.default()


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class RunJournal:
    """Appends calls for one run; `seq` counts from 1 in call order."""

    def __init__(self, run_id: str, server: str) -> None:
        self.run_id = run_id
        self.server = server
        self.entries: list[Call] = []

    def _add(self, matched: bool = True, **fields: Any) -> Call:
        call = Call(session=self.run_id, seq=len(self.entries) + 1, time=iso_time(time.time()), matched=matched,
                    interaction=None, **fields)  # fmt: skip
        self.entries.append(call)
        return call

    def tool(self, name: str, args: dict[str, Any], outcome: Any, error: str | None, started: float) -> Call:
        body = error if error is not None else outcome if isinstance(outcome, str) else None
        if error is None and body is None:
            body = _json_text(scrub_json(outcome, SCRUB))
        return self._add(
            kind="mcp", method="MCP", url=f"mcp://{self.server}{TOOL_PATH}{name}", path=f"{TOOL_PATH}{name}",
            query="", status=500 if error is not None else 200, duration_ms=_ms(started),
            request_body=_json_text(scrub_json(args, SCRUB)), response_body=body,
        )  # fmt: skip

    def http(self, request: Any, response: Any, started: float, kind: str = "http") -> Call:
        """An httpx request/response pair, scrubbed (headers, query, JSON bodies) before it is kept. An answer a
        generalising replay synthesized (its `X-Hudproxy-Synthesized` header) is marked with its rule, and a replay's
        miss (its `X-Hudproxy-Unmatched` 501) as unmatched, as the replay's own journal marks it. `kind` `llm`: an
        agent's own model call (its response body carries the token usage)."""
        url = scrub_url(str(request.url), SCRUB)
        headers = scrub_headers(tuple(request.headers.items()), SCRUB)
        if kind == "llm":  # the provider key is not even kept as a placeholder: a replay sends another key
            headers = tuple((k, v) for k, v in headers if k.lower() not in SCRUB.headers)
        rule = response.headers.get(SYNTHESIZED_HEADER)
        fault = response.headers.get(FAULT_HEADER)  # an answer a replay's fault rule injected
        return self._add(
            matched=rule is None and fault is None and UNMATCHED_HEADER not in response.headers, rule=rule,
            fault=fault, kind=kind if fault is None else "fault",
            method=request.method, url=url, path=urlsplit(url).path, query=urlsplit(url).query,
            status=response.status_code, duration_ms=_ms(started), request_headers=list(headers),
            request_body=_body(request.content), response_body=_body(response.content),
        )  # fmt: skip


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _body(content: bytes) -> str | None:
    if not content:
        return None
    try:
        return _json_text(scrub_json(json.loads(content), SCRUB))
    except ValueError:
        return as_text(content) or f"[{len(content)} bytes]"


class CallsView:
    """Queries and assertions over `journal_calls()`; mixed into RunContext and Run."""

    def journal_calls(self) -> list[Call]:
        raise NotImplementedError

    def calls(
        self, method: str | None = None, path: PathPattern | None = None, *, tool: str | None = None,
        kind: str | None = None,
    ) -> CallList:  # fmt: skip
        """This run's calls, oldest first: by HTTP method and path (glob or regex), tool name, or kind."""
        spec = _spec(method, path, tool)
        return CallList(c for c in self.journal_calls() if spec.matches(c) and kind in (None, c.kind))

    def tool_calls(self, tool: str | None = None) -> CallList:
        return self.calls(tool=tool or "*", kind="mcp")

    def assert_called(
        self, method: str | None = None, path: PathPattern | None = None, *, tool: str | None = None,
        json: Any = None, json_contains: dict[str, Any] | None = None, query: dict[str, str] | None = None,
        where: Callable[[Call], bool] | None = None, times: int | None = None,
    ) -> list[Call]:  # fmt: skip
        """At least one (or exactly `times`) matching call; the failure lists the calls made, nearest first."""
        spec = _spec(method, path, tool, json, json_contains, query, where)
        return assert_called(self.journal_calls(), spec, times)

    def assert_not_called(
        self, method: str | None = None, path: PathPattern | None = None, *, tool: str | None = None,
        json: Any = None, json_contains: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        assert_not_called(self.journal_calls(), _spec(method, path, tool, json, json_contains))

    def assert_called_before(self, first: CallSpec, then: CallSpec) -> None:
        assert_called_before(self.journal_calls(), first, then)

    def assert_retried(
        self, method: str | None = None, path: PathPattern | None = None, *, after: int = 429, max_attempts: int = 3
    ) -> list[Call]:
        """The matching call got `after` (e.g. a 429 a fault rule injected), was retried and got through in at
        most `max_attempts` attempts."""
        return assert_retried(self.journal_calls(), CallSpec(method, path), after=after, max_attempts=max_attempts)

    def assert_not_retried(self, method: str | None = "POST", path: PathPattern | None = None) -> None:
        """No matching write (default: every POST) was sent again after it got no answer or a 5xx."""
        assert_not_retried(self.journal_calls(), CallSpec(method, path))

    def score_retried(self, *args: Any, **kwargs: Any) -> float:
        return _score(lambda: self.assert_retried(*args, **kwargs))

    def score_not_retried(self, *args: Any, **kwargs: Any) -> float:
        return _score(lambda: self.assert_not_retried(*args, **kwargs))

    def score_called(self, *args: Any, **kwargs: Any) -> float:
        """`assert_called` as a reward: 1.0 when it holds, 0.0 when it does not."""
        return _score(lambda: self.assert_called(*args, **kwargs))

    def score_not_called(self, *args: Any, **kwargs: Any) -> float:
        return _score(lambda: self.assert_not_called(*args, **kwargs))


def tool_spec(tool: str, **parts: Any) -> CallSpec:
    """A CallSpec for a tool call (`json=` / `json_contains=` apply to its arguments)."""
    return CallSpec("MCP", f"{TOOL_PATH}{tool}", **parts)


def _spec(
    method: str | None, path: PathPattern | None, tool: str | None, json: Any = None,
    json_contains: dict[str, Any] | None = None, query: dict[str, str] | None = None,
    where: Callable[[Call], bool] | None = None,
) -> CallSpec:  # fmt: skip
    if tool is not None:
        if method is not None or path is not None:
            raise ValueError("give either tool= or method/path, not both")
        return tool_spec(tool, json=json, json_contains=json_contains, query=query, where=where)
    return CallSpec(method, path, json, json_contains, query, where)


def _score(check: Callable[[], object]) -> float:
    try:
        check()
    except AssertionError:
        return 0.0
    return 1.0
