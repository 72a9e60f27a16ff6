"""The diff page: two runs (`run:ID`) or two sessions (`session:NAME`), calls aligned, first divergence marked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from hudproxy.errors import ConfigError
from hudproxy.journal.query import CallList
from hudproxy.ui.calls import call_class
from hudproxy.ui.diff import align, field_differences
from hudproxy.ui.queries import results as queries
from hudproxy.ui.routes.common import journal_path, page, results_path

router = APIRouter()
MOST_CALLS = 2_000  # aligned per side: difflib is quadratic at worst, and a person reads the start of a divergence
RUN_FIELDS = ["scenario", "args_data", "reward", "subscores", "answer", "notes", "error"]


@router.get("/diff", response_class=HTMLResponse)
def diff(request: Request, a: str = "", b: str = "") -> HTMLResponse:
    if not a or not b:
        return page(request, "diff.html", a=a, b=b, diff=None)
    left, left_run = _side(request, a, "a")
    right, right_run = _side(request, b, "b")
    aligned = align(left, right)
    fields = field_differences(left_run, right_run, RUN_FIELDS) if left_run and right_run else []
    return page(request, "diff.html", a=a, b=b, diff=aligned, first=aligned.first_divergence, fields=fields,
                link_a=_link(a), link_b=_link(b), call_class=call_class,
                truncated=max(len(left), len(right)) >= MOST_CALLS)  # fmt: skip


def _side(request: Request, spec: str, name: str) -> tuple[CallList, dict[str, Any] | None]:
    kind, _, ident = spec.partition(":")
    if kind == "run" and ident:
        with queries.results_db(results_path(request)) as db:
            found = queries.run(db, ident)
            if found is None:
                raise HTTPException(404, f"{name}={spec}: no such run in the results database")
            return queries.run_calls(db, ident)[:MOST_CALLS], found
    if kind == "session" and ident:
        return request.app.state.timelines.page(journal_path(request), ident, limit=MOST_CALLS).calls, None
    raise ConfigError(f"{name}={spec!r}: expected run:RUN_ID or session:SESSION (e.g. {name}=run:fb043575-000002)")


def _link(spec: str) -> str:
    kind, _, ident = spec.partition(":")
    return f"runs/{ident}" if kind == "run" else f"journal/{ident}"
