"""Session endpoints: list, create, reset, drop, and each session's fault rules. Async on purpose: they run on the
replay loop's thread, so they never race the requests that use the same sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response

from hudproxy.admin.deps import Service
from hudproxy.admin.models import ErrorOut, FaultsOut, SessionCreate, SessionCreated, SessionOut
from hudproxy.faults.load import parse_faults
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import PREFIX, Session

router = APIRouter(prefix="/sessions", tags=["sessions"])
NOT_FOUND = {404: {"model": ErrorOut, "description": "No live session has this id"}}


def session_out(session: Session) -> SessionOut:
    return SessionOut(
        id=session.id,
        calls=session.calls,
        created=datetime.fromtimestamp(session.created, UTC),
        last_seen=datetime.fromtimestamp(session.last_seen, UTC),
    )


def no_session(session_id: str) -> HTTPException:
    return HTTPException(404, f"no live session {session_id!r}; GET /_hudproxy/sessions lists them.")


@router.get("", response_model=list[SessionOut])
async def list_sessions(service: Service) -> list[SessionOut]:
    return [session_out(s) for s in service.sessions]


@router.post("", response_model=SessionCreated, status_code=201, responses={400: {"model": ErrorOut}})
async def create_session(
    service: Service, request: Request, body: Annotated[SessionCreate | None, Body()] = None
) -> SessionCreated:
    """A fresh session (an existing id starts over); its base URL needs no header to select it."""
    session = service.sessions.create(body.id if body is not None else None)
    host = request.headers.get("host") or request.url.netloc
    return SessionCreated(id=session.id, base_url=f"{request.url.scheme}://{host}{PREFIX}{session.id}")


@router.post("/{session_id}/reset", response_model=SessionOut, responses=NOT_FOUND)
async def reset_session(service: Service, session_id: str) -> SessionOut:
    """Back to the start: state-aware replay serves the "before" answers again."""
    session = service.sessions.find(session_id)
    if session is None:
        raise no_session(session_id)
    session.reset()
    return session_out(session)


@router.get("/{session_id}/state", responses={**NOT_FOUND, 400: {"model": ErrorOut}})
async def session_state(service: Service, session_id: str) -> dict[str, Any]:
    """The session's resources under `--generalise`: every item it sees (`state`) and what it changed against
    its start (`diff`: created, deleted, updated field by field). Grade an eval by its end state with this."""
    from hudproxy.errors import ConfigError
    from hudproxy.resources.generalise import session_state as resources_of

    session = service.sessions.find(session_id)
    if session is None:
        raise no_session(session_id)
    try:
        found = resources_of(service.engine.model, session.state, session_id, service.engine.seed)
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"session": session_id, "state": found.state(), "diff": found.state_diff()}


@router.delete("/{session_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def drop_session(service: Service, session_id: str) -> None:
    if not service.sessions.drop(session_id):
        raise no_session(session_id)


FAULTS_BODY = Body(
    description="A faults document as in a faults file: `{seed: N, rules: [...]}` (or just the list of rules); "
    "see hudproxy.faults.model",
    examples=[{"seed": 7, "rules": [{"name": "throttled", "match": {"method": "POST", "path": "/orders"}, "nth": 1,
                                      "fault": {"kind": "status", "status": 429, "headers": {"Retry-After": "1"}}}]}],
)  # fmt: skip


def faults_out(service: ReplayService, session: Session) -> FaultsOut:
    own = session.faults
    plan = own if own is not None else service.faults
    source = "session" if own is not None else "server" if plan is not None else "none"
    return FaultsOut(session=session.id, source=source, faults=plan.as_dict() if plan is not None else None)


@router.put("/{session_id}/faults", response_model=FaultsOut, responses={400: {"model": ErrorOut}})
async def put_faults(service: Service, session_id: str, body: Annotated[Any, FAULTS_BODY]) -> FaultsOut:
    """Give the session its own fault rules (in place of the server's `--faults`; `{"rules": []}` for none).
    The session is made if new; its rule counters start again, so `nth` counts from here."""
    plan = parse_faults(body, f"PUT /_hudproxy/sessions/{session_id}/faults")
    service.set_faults(session_id, plan)
    return faults_out(service, service.sessions.get(session_id))


@router.get("/{session_id}/faults", response_model=FaultsOut, responses=NOT_FOUND)
async def get_faults(service: Service, session_id: str) -> FaultsOut:
    """The rules in force for the session: its own, else the server's."""
    session = service.sessions.find(session_id)
    if session is None:
        raise no_session(session_id)
    return faults_out(service, session)


@router.delete("/{session_id}/faults", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_faults(service: Service, session_id: str) -> None:
    """Drop the session's own rules: the server's (`--faults`) apply again."""
    if service.sessions.find(session_id) is None:
        raise no_session(session_id)
    service.set_faults(session_id, None)
