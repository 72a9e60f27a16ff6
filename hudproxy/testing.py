"""Builders for tests, so a test reads as what it means (as mitmproxy ships `tflow`).

    make_request("POST", "http://api.test/orders", json={"sku": "SKU-100"})
    make_response(201, json={"id": "A13"})
    make_cassette([make_interaction(request, response)])

Every builder returns hudproxy's own frozen values; defaults describe one plain `GET /orders/A1 -> 200`.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.headers import Headers, header_value
from hudproxy.interaction.model import Chunk, Interaction, Request, Response

__all__ = ["make_cassette", "make_interaction", "make_request", "make_response"]

JSON_TYPE = "application/json"


def _with_json(headers: Iterable[tuple[str, str]], body: bytes, value: Any) -> tuple[Headers, bytes]:
    """Headers and body for a `json=` argument: compact JSON, plus Content-Type unless one is given."""
    pairs = tuple((str(name), str(v)) for name, v in headers)
    if value is None:
        return pairs, body
    encoded = jsonlib.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if header_value(pairs, "content-type") is None:
        pairs = (*pairs, ("Content-Type", JSON_TYPE))
    return pairs, encoded


def make_request(
    method: str = "GET",
    url: str = "http://api.test/orders/A1",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    json: Any = None,
) -> Request:
    """A request; `json=` replaces `body` with the encoded value and adds `Content-Type: application/json`."""
    pairs, wire = _with_json(headers, body, json)
    return Request(method, url, pairs, wire)


def make_response(
    status: int = 200,
    body: bytes = b"",
    json: Any = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """A response; `json=` replaces `body` with the encoded value and adds `Content-Type: application/json`."""
    pairs, wire = _with_json(headers, body, json)
    return Response(status, _reason(status), pairs, wire)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def make_interaction(
    request: Request | None = None,
    response: Response | None = None,
    *,
    index: int = 0,
    recorded_at: str | None = None,
    duration_ms: float | None = None,
    chunks: Iterable[tuple[int, float]] = (),
) -> Interaction:
    """One exchange (default `GET /orders/A1 -> 200`); `chunks` are (size, at_ms) pairs of a streamed body."""
    response = response or make_response()
    pieces = tuple(Chunk(size, at_ms) for size, at_ms in chunks)
    if pieces:
        response = replace(response, chunks=pieces)
    return Interaction(request or make_request(), response, index, recorded_at, duration_ms)


def make_cassette(interactions: Iterable[Interaction]) -> Cassette:
    """A cassette holding `interactions` in order, numbered 0..n-1 as a loaded cassette's are."""
    return Cassette(interactions=[replace(i, index=n) for n, i in enumerate(interactions)])
