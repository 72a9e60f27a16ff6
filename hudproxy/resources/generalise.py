"""The replay hook for `--generalise`: what the engine asks once per request, next to its recorded lookup.

- Nothing matched: the model answers when it covers the request, else the caller's usual miss.
- A recording matched and agrees with the session's resources: it is answered as recorded (the state-aware rule
  unchanged), and a recorded write is applied to the session's resources.
- A recording matched but contradicts this session's resources: a read of an item or list the session changed
  by writes no recording matched, a 2xx for an item the session deleted or that only a recorded create made
  (a create this session never repeated), a 404 for an item the session has, a recorded create whose id the
  session already holds. The recording is stale for this session and the model answers (when it covers the
  request; else the recording still does).

The session's ResourceState lives on the replay state (`resources` attribute), made on first use; the replay
state's `name` (its session id) and the server's seed (`--seed`) make new random-style ids (uuid, hex) differ
between sessions and seeds and repeat for the same pair; sequence ids (`7`, `A7`) follow the learned sequence.
"""

from __future__ import annotations

from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Interaction, Request
from hudproxy.resources.bodies import as_text, json_body
from hudproxy.resources.mcp_tools import follow_tool
from hudproxy.resources.model import ResourceModel, Route
from hudproxy.resources.state import ResourceState
from hudproxy.resources.synthesize import Synthesized, apply, synthesize

MISSING = (404, 410)


def session_resources(model: ResourceModel, replay_state: Any, seed: int = 0) -> ResourceState:
    found = getattr(replay_state, "resources", None)
    if found is None or found.model is not model:
        found = ResourceState(model, getattr(replay_state, "name", "default"), seed)
        replay_state.resources = found
    return found


def session_state(
    model: ResourceModel | None, replay_state: Any | None, session_id: str, seed: int = 0
) -> ResourceState:
    """A session's resources for graders (`state()`, `state_diff()`); a session not used yet is at the start."""
    if model is None:
        raise ConfigError(
            "this replay has no resource state: start it with `hudproxy replay --generalise` "
            "(Python: Replay(..., generalise=True))."
        )
    if replay_state is None:
        return ResourceState(model, session_id, seed)
    return session_resources(model, replay_state, seed)


def follow_recording(
    model: ResourceModel, replay_state: Any, request: Request, recorded: Interaction | None, seed: int = 0
) -> Synthesized | None:
    """The model's answer when it should replace the recorded one (or stand in for a missing one), else None."""
    resources = session_resources(model, replay_state, seed)
    if request.url.startswith("mcp://"):  # CRUD-shaped tools (hudproxy.resources.mcp_tools); other calls as recorded
        return follow_tool(request, recorded, resources) if model.tools else None
    if recorded is None:
        return synthesize(request, resources)
    route = model.route(request)
    if route is None:
        return None
    found = None
    if not agrees(route, request, recorded, resources):
        found = synthesize(request, resources)
    if found is None and request.is_write:
        apply(request, recorded.response, resources)
    return found


def agrees(route: Route, request: Request, recorded: Interaction, resources: ResourceState) -> bool:
    """Does the recorded answer fit what this session's resources say?"""
    status = recorded.response.status
    resource, method = route.resource, request.method.upper()
    if route.item_id is None:
        if method == "GET":
            return not resources.changed_by_session(resource, route.parent, None)
        if method == "POST" and 200 <= status < 300:
            body = json_body(recorded.response.headers, recorded.response.body)
            made = as_text(body.get(resource.id_field)) if isinstance(body, dict) else None
            return made is None or resources.get(resource, route.parent, made) is None
        return True
    if 200 <= status < 300 and resources.absent(resource, route.parent, route.item_id):
        return False
    if status in MISSING and resources.get(resource, route.parent, route.item_id) is not None:
        return False
    return method != "GET" or not resources.changed_by_session(resource, route.parent, route.item_id)
