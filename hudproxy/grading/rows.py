"""Journal rows as a rubric sees them: HTTP and MCP alike, each parsed once (body, response, headers, tool name)
however many predicates look at it."""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote

from hudproxy.grading.expressions import Expression
from hudproxy.grading.model import CallMatch
from hudproxy.journal.assertions import contains
from hudproxy.journal.query import Call

TOOL_PREFIX = "/tools/call/"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
READ_TOOL = re.compile(r"(get|list|read|search|find|fetch|describe|show|view|count|lookup|query|check)(_|$)", re.I)


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class Row:
    """One journal row (a `hudproxy.journal.Call`) with its parts parsed on first use."""

    __slots__ = ("__dict__", "call")

    def __init__(self, call: Call) -> None:
        self.call = call

    @property
    def seq(self) -> int:
        return self.call.seq

    @functools.cached_property
    def tool(self) -> str | None:
        path = self.call.path
        return unquote(path[len(TOOL_PREFIX) :]) if path.startswith(TOOL_PREFIX) else None

    @functools.cached_property
    def body(self) -> Any:
        return _json(self.call.request_body)

    @functools.cached_property
    def arguments(self) -> Any:
        """A tool call's arguments (the body, or `params.arguments` of a JSON-RPC-shaped body)."""
        body = self.body
        if isinstance(body, dict) and "arguments" in body and "name" in body:
            return body["arguments"]
        return body

    @functools.cached_property
    def response(self) -> Any:
        return _json(self.call.response_body)

    @functools.cached_property
    def headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.call.request_headers}

    @functools.cached_property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.call.query, keep_blank_values=True)) if self.call.query else {}

    @property
    def is_write(self) -> bool:
        """A call that can change something: an HTTP write method, or a tool not named like a read."""
        if self.tool is not None:
            return READ_TOOL.match(self.tool) is None
        return self.call.method.upper() in WRITE_METHODS

    def names(self, args: dict[str, Any]) -> dict[str, Any]:
        """What a `where:` expression sees."""
        return {"json": self.body, "body": self.body, "arguments": self.arguments, "response": self.response,
                "status": self.call.status, "query": self.params, "headers": self.headers, "args": args,
                "method": self.call.method, "path": self.call.path, "tool": self.tool, "kind": self.call.kind,
                "seq": self.call.seq}  # fmt: skip

    def describe(self) -> str:
        return self.call.describe()


def rows_of(calls: Sequence[Call]) -> list[Row]:
    return [Row(c) for c in calls]


@functools.lru_cache(maxsize=4096)
def expression(source: str) -> Expression:
    return Expression(source)


def status_matches(expected: int | str | list[int | str], status: int) -> bool:
    if isinstance(expected, list):
        return any(status_matches(e, status) for e in expected)
    if isinstance(expected, int):
        return status == expected
    text = str(expected).strip().lower()
    if len(text) == 3 and text.endswith("xx") and text[0].isdigit():
        return status // 100 == int(text[0])
    return text.isdigit() and status == int(text)


def matches(spec: CallMatch, row: Row, args: dict[str, Any]) -> bool:
    """Every given part of `spec` holds for `row`."""
    call = row.call
    if spec.kind is not None and call.kind != spec.kind:
        return False
    if spec.tool is not None:
        if row.tool is None or not fnmatch.fnmatchcase(row.tool, spec.tool):
            return False
        if spec.arguments is not None and not contains(row.arguments, spec.arguments):
            return False
    else:
        if spec.method is not None and call.method.upper() != spec.method.upper():
            return False
        if spec.path is not None and not fnmatch.fnmatchcase(call.path, spec.path):
            return False
    if spec.status is not None and not status_matches(spec.status, call.status):
        return False
    if spec.query is not None and any(row.params.get(k) != _text(v) for k, v in spec.query.items()):
        return False
    if spec.json_body is not None and row.body != spec.json_body:
        return False
    if spec.json_contains is not None and not contains(row.body, spec.json_contains):
        return False
    if spec.header is not None:
        for name, value in spec.header.items():
            found = row.headers.get(name.lower())
            if found is None or not fnmatch.fnmatchcase(found, value):
                return False
    return spec.where is None or expression(spec.where).evaluate(row.names(args))


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)
