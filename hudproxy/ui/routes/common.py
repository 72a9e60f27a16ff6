"""What every page needs: its sources, rendering a template with the base URL, and a 404 that says what exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from hudproxy.ui.calls import CLASSES
from hudproxy.ui.sources import CassetteSource, Sources

PAGE_SIZE = 100


def sources(request: Request) -> Sources:
    return request.app.state.sources


def base(request: Request) -> str:
    """Where the app is mounted (`/_hudproxy/ui` on a replay server, empty for `hudproxy ui`): links start here."""
    return request.scope.get("root_path", "").rstrip("/")


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = request.app.state.templates.get_template(template).render(
        base=base(request), params=dict(request.query_params), classes=CLASSES, **context
    )
    return HTMLResponse(html, status_code=status)


def cassette_source(request: Request, name: str) -> CassetteSource:
    found = sources(request).cassette(name)
    if found is None:
        known = ", ".join(sources(request).cassettes) or "none (give cassette files to `hudproxy ui`)"
        raise HTTPException(404, f"no cassette {name!r}; this inspector has: {known}")
    return found


def journal_path(request: Request) -> Path:
    path = sources(request).journal()
    if path is None:
        raise HTTPException(404, "no journal: start `hudproxy ui --journal JOURNAL.db` (or replay with a journal).")
    return path


def results_path(request: Request) -> Path:
    path = sources(request).results
    if path is None:
        raise HTTPException(404, "no results database: start `hudproxy ui --results RESULTS.db`.")
    return path


def offset_of(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
