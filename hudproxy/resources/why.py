"""`hudproxy inspect --why` with a resource model: what `--generalise` would do with a request no recording
matches, in a fresh session: answer it (which rule, which status, taught by which interactions) or miss (why)."""

from __future__ import annotations

from typing import Any

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Request
from hudproxy.resources.learn import learn_model
from hudproxy.resources.mcp_tools import synthesize_tool
from hudproxy.resources.render import interactions
from hudproxy.resources.state import ResourceState
from hudproxy.resources.synthesize import synthesize


def model_verdict(cassette: Cassette, request: Request, openapi: dict[str, Any] | None = None) -> dict[str, Any]:
    state = ResourceState(learn_model(cassette, openapi), "why")
    found = synthesize_tool(request, state) if request.url.startswith("mcp://") else synthesize(request, state)
    if found is None:
        return {"answered": False, "why": state.why}
    return {"answered": True, "rule": found.rule, "status": found.response.status, "evidence": found.evidence}


def verdict_line(verdict: dict[str, Any]) -> str:
    if verdict["answered"]:
        taught = interactions(verdict["evidence"]) or "from the OpenAPI document, no interaction"
        return f"with --generalise: answered by the model, rule {verdict['rule']} → {verdict['status']} ({taught})"
    return f"with --generalise: still a miss: {verdict['why']}"
