"""Eval results pages: runs (sortable, filterable, paged), one run's transcript beside its calls, its rubric."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from hudproxy.errors import ConfigError
from hudproxy.ui.calls import call_class, caused_by_next_tool
from hudproxy.ui.queries import results as queries
from hudproxy.ui.routes.common import PAGE_SIZE, page, results_path, sources
from hudproxy.ui.routes.journal import call_page

router = APIRouter()


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request,
    eval_id: Annotated[str, Query(alias="eval")] = "",
    scenario: str = "",
    min_reward: str = "",
    max_reward: str = "",
    outcome: str = "",
    sort: str = "idx",
    desc: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    bounds = _number("min_reward", min_reward), _number("max_reward", max_reward)
    chosen = queries.RunFilter(eval_id, scenario, *bounds, outcome, sort, desc)
    with queries.results_db(results_path(request)) as db:
        evals = queries.evals(db)
        found = queries.runs_page(db, chosen, offset, PAGE_SIZE)
        shown_eval = eval_id or (evals[0]["id"] if len(evals) == 1 else "")
        pass_k = queries.pass_k_table(db, shown_eval) if shown_eval else []
    most = max((t.trials for t in pass_k), default=0)
    return page(request, "runs.html", evals=evals, found=found, chosen=chosen, pass_k=pass_k,
                ks=list(range(1, min(most, 8) + 1)), pass_k_eval=shown_eval)  # fmt: skip


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: str) -> HTMLResponse:
    with queries.results_db(results_path(request)) as db:
        found = queries.run(db, run_id)
        if found is None:
            raise HTTPException(404, f"no run {run_id!r} in the results database")
        calls = queries.run_calls(db, run_id)
        messages = queries.transcript(db, run_id)
        rubric = queries.rubric(db, run_id)
    owner = caused_by_next_tool(calls)
    rows = [{"call": c, "class": call_class(c), "parent": owner.get(c.seq),
             "children": [s for s, p in owner.items() if p == c.seq]} for c in calls]  # fmt: skip
    has_journal = sources(request).journal() is not None
    return page(request, "run.html", run=found, rows=rows, messages=messages, rubric=rubric, has_journal=has_journal)


@router.get("/runs/{run_id}/calls/{seq}", response_class=HTMLResponse)
def run_call(request: Request, run_id: str, seq: int, fragment: bool = False) -> HTMLResponse:
    with queries.results_db(results_path(request)) as db:
        calls = queries.run_calls(db, run_id)
    found = next((c for c in calls if c.seq == seq), None)
    if found is None:
        raise HTTPException(404, f"run {run_id!r} has no call #{seq}")
    owner = caused_by_next_tool(calls)
    children = [s for s, p in owner.items() if p == seq]
    return call_page(request, found, owner.get(seq), children, f"runs/{quote(run_id, safe='')}", fragment)


def _number(name: str, text: str) -> float | None:
    """An empty box is no bound (a form sends every field); anything else must be a number."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a number (e.g. {name}=0.5)") from None
