"""Rows and details of a cassette's interactions, as plain data the CLI renders (table or JSON)."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.interaction.body import as_text, content_encoding, decode_body, parse_json
from hudproxy.interaction.headers import Headers, header_value
from hudproxy.interaction.model import Interaction
from hudproxy.mcp.exchange import is_mcp
from hudproxy.mcp.summary import mcp_summary

FILTER_KEYS = ("method", "path", "status", "host")


@dataclass(frozen=True)
class InteractionFilter:
    """`--filter key=value` terms, all of which must hold: method=GET, path=/orders/*, status=4xx, host=api.*"""

    terms: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, expressions: list[str]) -> InteractionFilter:
        terms = []
        for expression in expressions:
            key, eq, value = expression.partition("=")
            key = key.strip().lower()
            if not eq or key not in FILTER_KEYS:
                raise ConfigError(
                    f"--filter {expression!r} is not KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)} "
                    "(e.g. --filter method=GET --filter path=/orders/* --filter status=4xx)."
                )
            terms.append((key, value.strip()))
        return cls(tuple(terms))

    def accepts(self, interaction: Interaction) -> bool:
        return all(self._holds(key, value, interaction) for key, value in self.terms)

    @staticmethod
    def _holds(key: str, value: str, interaction: Interaction) -> bool:
        request = interaction.request
        if key == "method":
            return request.method.upper() == value.upper()
        if key == "status":
            status = str(interaction.response.status)
            pattern = value.lower().replace("x", "?")
            return fnmatch.fnmatchcase(status, pattern)
        actual = request.path if key == "path" else request.host
        return fnmatch.fnmatchcase(actual, value)

    def sql(self) -> tuple[str, list[str]]:
        """The same terms as a SQL condition over (method, path, host, status) columns, for a table of rows
        (`summarize`'s) in SQLite: the web inspector pages 100,000 interactions without loading them. GLOB is
        fnmatchcase's twin (case-sensitive, `*`/`?`/`[...]`), negated classes spelled `[^` instead of `[!`."""
        clauses, args = [], []
        for key, value in self.terms:
            if key == "method":
                clauses.append("method = ?")
                args.append(value.upper())
            elif key == "status":
                clauses.append("cast(status as text) glob ?")
                args.append(_glob(value.lower().replace("x", "?")))
            else:
                clauses.append(f"{key} glob ?")
                args.append(_glob(value))
        return " and ".join(clauses) or "1", args


def _glob(pattern: str) -> str:
    return pattern.replace("[!", "[^")


def decoded(headers: Headers, body: bytes) -> bytes:
    return decode_body(body, content_encoding(headers)) or body


def summarize(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    target = request.path + (f"?{request.query_string}" if request.query_string else "")
    row = {
        "index": interaction.index,
        "method": request.method,
        "url": request.url,
        "target": target,
        "host": request.host,
        "status": response.status,
        "size": len(decoded(response.headers, response.body)),
        "duration_ms": interaction.duration_ms,
        "streamed": bool(response.chunks),
    }
    if is_mcp(interaction):  # `tools/call charge_card {"amount":100} → charged 100`, not a synthetic URL
        row.update(mcp_summary(interaction))
    return row


def pretty_body(headers: Headers, body: bytes) -> str:
    """JSON pretty-printed, text as is, binary as a size note."""
    if not body:
        return ""
    plain = decoded(headers, body)
    is_json, data = parse_json(plain, header_value(headers, "content-type"))
    if is_json:
        return json.dumps(data, indent=2, ensure_ascii=False)
    text = as_text(plain)
    if text is None:
        return f"<{len(plain)} bytes of binary data>"
    return text


def detail(interaction: Interaction) -> dict[str, Any]:
    """One interaction in full, for `inspect --show N`."""
    request, response = interaction.request, interaction.response
    return {
        **summarize(interaction),
        "recorded_at": interaction.recorded_at,
        "request": {
            "method": request.method,
            "url": request.url,
            "headers": [list(h) for h in request.headers],
            "body": pretty_body(request.headers, request.body),
        },
        "response": {
            "status": response.status,
            "reason": response.reason,
            "headers": [list(h) for h in response.headers],
            "body": pretty_body(response.headers, response.body),
            "chunks": len(response.chunks),
        },
    }
