"""The inspector's FastAPI app: pages from templates, CSS and JS served from the package (no CDN, no build)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from hudproxy.errors import HudproxyError
from hudproxy.ui.queries.journal import Timelines
from hudproxy.ui.render import make_environment
from hudproxy.ui.routes import cassette, diff, journal, results
from hudproxy.ui.routes.common import page
from hudproxy.ui.sources import Sources

STATIC = Path(__file__).parent / "static"


def create_ui_app(sources: Sources) -> FastAPI:
    """The pages over `sources`, with routes relative to wherever the app is mounted (its ASGI root_path)."""
    app = FastAPI(title="hudproxy inspector", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sources = sources
    app.state.templates = make_environment()
    app.state.timelines = Timelines()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (cassette, journal, results, diff):
        app.include_router(module.router)
    app.add_api_route("/", index, methods=["GET"], response_class=HTMLResponse)
    app.add_exception_handler(HudproxyError, bad_input)
    app.add_exception_handler(HTTPException, not_found)
    return app


def index(request: Request) -> HTMLResponse:
    sources: Sources = request.app.state.sources
    return page(request, "index.html", cassettes=list(sources.cassettes), journal=sources.journal(),
                results=sources.results)  # fmt: skip


async def bad_input(request: Request, exc: Exception) -> HTMLResponse:
    """A bad filter or pasted request is the reader's mistake: the page says it in one line, status 400."""
    return page(request, "error.html", status=400, message=str(exc))


async def not_found(request: Request, exc: Exception) -> HTMLResponse:
    """A page that does not exist says what does (the cassettes, the session, the run asked for)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
    return page(request, "error.html", status=status, message=detail)
