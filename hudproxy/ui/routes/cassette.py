"""Cassette pages: the filtered table, one interaction in full, why a pasted request matches or not, the model."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from hudproxy.errors import ConfigError
from hudproxy.inspection import InteractionFilter, detail, explain_request, why_request_from_data
from hudproxy.inspection.summary import FILTER_KEYS
from hudproxy.interaction.model import Interaction
from hudproxy.matching.outcome import diagnosis_data
from hudproxy.mcp.exchange import SCHEME
from hudproxy.mcp.why import mcp_diagnosis_data
from hudproxy.ui.render import body_view
from hudproxy.ui.routes.common import PAGE_SIZE, cassette_source, page

router = APIRouter()
Offset = Annotated[int, Query(ge=0)]


@router.get("/cassettes/{name}", response_class=HTMLResponse)
def table(request: Request, name: str, offset: Offset = 0) -> HTMLResponse:
    """`inspect`'s table, with its filters (method, path, status, host), a page at a time."""
    source = cassette_source(request, name)
    terms = [f"{key}={request.query_params[key]}" for key in FILTER_KEYS if request.query_params.get(key)]
    chosen = InteractionFilter.parse(terms)
    return page(request, "cassette.html", name=name, result=source.index.page(chosen, offset, PAGE_SIZE),
                filter_keys=FILTER_KEYS)  # fmt: skip


@router.get("/cassettes/{name}/interactions/{number}", response_class=HTMLResponse)
def interaction(request: Request, name: str, number: int) -> HTMLResponse:
    """One interaction: headers, bodies (JSON folded, binary as hex), a stream's chunks with their timing."""
    cassette = cassette_source(request, name).cassette
    if not 0 <= number < len(cassette.interactions):
        raise HTTPException(404, f"{name} has interactions 0 to {len(cassette.interactions) - 1}")
    chosen = cassette.interactions[number]
    return page(request, "interaction.html", name=name, number=number, total=len(cassette.interactions),
                data=detail(chosen), request_body=body_view(chosen.request.headers, chosen.request.body),
                response_body=body_view(chosen.response.headers, chosen.response.body),
                chunks=chunk_rows(chosen))  # fmt: skip


def chunk_rows(interaction: Interaction) -> list[dict[str, Any]]:
    """Each streamed chunk: when it came, the gap before it, its size and its first bytes."""
    rows, start, previous = [], 0, 0.0
    body = interaction.response.body
    for number, chunk in enumerate(interaction.response.chunks):
        piece = body[start : start + chunk.size]
        preview = piece[:120].decode("utf-8", "replace")
        rows.append({"n": number, "at_ms": chunk.at_ms, "gap_ms": chunk.at_ms - previous, "size": chunk.size,
                     "preview": preview})  # fmt: skip
        start, previous = start + chunk.size, chunk.at_ms
    return rows


EXAMPLE = json.dumps({"method": "GET", "url": "/orders/A1", "headers": {"Accept": "application/json"}}, indent=2)


@router.get("/cassettes/{name}/why", response_class=HTMLResponse)
def why(request: Request, name: str, request_json: Annotated[str, Query(alias="request")] = "") -> HTMLResponse:
    """Paste a request (as `inspect --why` reads it): the interaction it matches, or the nearest and what differs."""
    source = cassette_source(request, name)
    context: dict[str, Any] = {"name": name, "pasted": request_json or EXAMPLE, "asked": bool(request_json)}
    if request_json:
        try:
            data = json.loads(request_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"pasted request, line {exc.lineno}: not valid JSON ({exc.msg})") from None
        cassette = source.cassette
        result = explain_request(cassette, why_request_from_data(data, cassette, "pasted request"))
        context["described"] = result.request.describe()
        context["matched"] = result.matched.index if result.matched is not None else None
        if result.matched is None and result.request.scheme == SCHEME:
            context["nearest"] = mcp_diagnosis_data(result.request, result.near)["nearest"]
        elif result.matched is None:
            context["nearest"] = diagnosis_data(result.near)
            context["verdict"] = model_verdict_of(cassette, result.request)
    return page(request, "why.html", **context)


def model_verdict_of(cassette: Any, request: Any) -> dict[str, Any] | None:
    """What `--generalise` would answer instead (the resource model's verdict), as `inspect --why` prints it."""
    from hudproxy.resources.why import model_verdict, verdict_line

    verdict = model_verdict(cassette, request)
    return {"line": verdict_line(verdict), **verdict} if verdict else None


@router.get("/cassettes/{name}/model", response_class=HTMLResponse)
def model(request: Request, name: str) -> HTMLResponse:
    """The resource model learned from the recording (`inspect --model`): rules, evidence, gaps."""
    from hudproxy.resources.learn import learn_model
    from hudproxy.resources.render import model_lines

    learned = learn_model(cassette_source(request, name).cassette)
    return page(request, "model.html", name=name, lines=model_lines(learned, name), data=learned.to_dict())
