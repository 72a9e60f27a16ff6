"""Journal pages: the sessions, a session's calls as a timeline (a keyset page at a time), one call in full."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from hudproxy.journal.query import Call, children_of, read_call, session_exists, sessions_in
from hudproxy.ui.calls import CLASS_FILTERS, call_class
from hudproxy.ui.render import text_view
from hudproxy.ui.routes.common import PAGE_SIZE, journal_path, page

router = APIRouter()
TIMELINE_PAGE = 200


@router.get("/journal", response_class=HTMLResponse)
def sessions(request: Request, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    found = sessions_in(journal_path(request))
    return page(request, "sessions.html", sessions=found[offset : offset + PAGE_SIZE], total=len(found),
                offset=offset, limit=PAGE_SIZE)  # fmt: skip


@router.get("/journal/{session}", response_class=HTMLResponse)
def timeline(
    request: Request,
    session: str,
    after: int | None = None,
    before: int | None = None,
    kind: Annotated[str, Query(alias="class")] = "",
    method: str = "",
    path: str = "",
) -> HTMLResponse:
    """A page of the session's calls in journal order, each a bar on the page's time axis, coloured by class."""
    journal = journal_path(request)
    chosen = CLASS_FILTERS.get(kind, {})
    found = request.app.state.timelines.page(journal, session, after=after, before=before, limit=TIMELINE_PAGE,
                                             method=method or None, path_glob=path or None, **chosen)  # fmt: skip
    if not found.calls and not session_exists(journal, session):
        raise HTTPException(404, f"no calls of session {session!r} in the journal")
    caused: dict[int, list[int]] = {}  # from the page's own rows: a tool call's HTTP requests sit beside it
    for shown in found.calls:
        if shown.parent is not None:
            caused.setdefault(shown.parent, []).append(shown.seq)
    return page(request, "session.html", session=session, found=found, rows=timeline_rows(found.calls),
                caused=caused, source="journal")  # fmt: skip


def timeline_rows(calls: list[Call]) -> list[dict[str, Any]]:
    """Each call with its class and its bar: where it starts and how long it took, as % of the page's span."""
    starts = [_seconds(c.time) for c in calls]
    if not calls:
        return []
    first = min(starts)
    span = max(max(s + c.duration_ms / 1000 for s, c in zip(starts, calls, strict=True)) - first, 1e-3)
    return [
        {
            "call": c,
            "class": call_class(c),
            "left": (s - first) / span * 100,
            "width": max(c.duration_ms / 1000 / span * 100, 0.4),
            "offset_ms": (s - first) * 1000,
        }
        for s, c in zip(starts, calls, strict=True)
    ]


def _seconds(iso: str) -> float:
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return 0.0


@router.get("/journal/{session}/calls/{seq}", response_class=HTMLResponse)
def call(request: Request, session: str, seq: int, fragment: bool = False) -> HTMLResponse:
    """One call: request, response, diagnosis (nearest recordings for a miss), the rule that synthesized it, and
    its parent and children. `fragment=1` is the part the timeline expands in place."""
    journal = journal_path(request)
    found = read_call(journal, session, seq)
    if found is None:
        raise HTTPException(404, f"session {session!r} has no call #{seq} in the journal")
    children = children_of(journal, session, [seq]).get(seq, [])
    link = f"journal/{quote(session, safe='')}"
    return call_page(request, found, found.parent, children, link, fragment)


def call_page(
    request: Request, found: Call, parent: int | None, children: list[int], link: str, fragment: bool
) -> HTMLResponse:
    """`link`: the session's or run's page, under which `calls/N` names each call."""
    return page(request, "call_fragment.html" if fragment else "call.html", call=found, klass=call_class(found),
                parent=parent, children=children, link=link, request_body=text_view(found.request_body),
                response_body=text_view(found.response_body))  # fmt: skip
