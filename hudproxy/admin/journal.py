"""Journal endpoints: what a session asked and got, and every unmatched call with its diagnosis.

Sync on purpose: FastAPI runs them in a worker thread, so reading SQLite never stalls replay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from hudproxy.admin.deps import Journal, Service
from hudproxy.admin.models import CallOut, ErrorOut
from hudproxy.journal.query import CallList, read_calls, sessions_in

router = APIRouter(tags=["journal"])
DISABLED = {409: {"model": ErrorOut, "description": "The journal is disabled"}}


def calls_out(calls: CallList) -> list[CallOut]:
    return [CallOut.model_validate(c) for c in calls]


@router.get(
    "/sessions/{session_id}/journal",
    response_model=list[CallOut],
    responses={**DISABLED, 404: {"model": ErrorOut, "description": "Neither live nor in the journal"}},
)
def session_journal(
    service: Service,
    journal: Journal,
    session_id: str,
    method: str | None = None,
    path: Annotated[str | None, Query(description="Glob on the request path, e.g. /orders/*")] = None,
    unmatched: Annotated[
        bool | None, Query(description="true: only the misses; false: only answered calls (recording or model)")
    ] = None,
) -> list[CallOut]:
    """The session's calls in order; a dropped session's calls stay readable while they are in the journal."""
    calls = read_calls(journal, session=session_id, method=method, path_pattern=path, unmatched=unmatched)
    if not calls and service.sessions.find(session_id) is None and not _in_journal(journal, session_id):
        raise HTTPException(404, f"no session {session_id!r}, live or in the journal.")
    return calls_out(calls)


def _in_journal(journal: Path, session_id: str) -> bool:
    return any(row["session"] == session_id for row in sessions_in(journal))


@router.get("/unmatched", response_model=list[CallOut], responses=DISABLED)
def unmatched_calls(journal: Journal, session: str | None = None) -> list[CallOut]:
    """Requests nothing answered (no recording; under --generalise, not the model either), each with the nearest
    recordings and what differs."""
    return calls_out(read_calls(journal, session=session, unmatched=True))
