"""Session endpoints: list, create, reset, drop. Async on purpose: they run on the replay loop's thread,
so they never race the requests that use the same sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response

from hudproxy.admin.deps import Service
from hudproxy.admin.models import ErrorOut, SessionCreate, SessionCreated, SessionOut
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
