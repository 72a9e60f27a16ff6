"""The admin API: a FastAPI app served under /_hudproxy on the replay port, beside the bare replay callable.

ReplayApp hands it every request whose raw path starts with /_hudproxy. The mount sets the ASGI `root_path`
to that prefix (as Starlette's Mount does), so routes are written as `/health` and the docs page finds
`/_hudproxy/openapi.json`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hudproxy import __version__
from hudproxy.admin import info, journal, sessions
from hudproxy.errors import HudproxyError
from hudproxy.replay.asgi import ADMIN_PREFIX, ASGIApp, Receive, Scope, Send
from hudproxy.replay.service import ReplayService

DESCRIPTION = (
    "Inspect and steer a running hudproxy replay server: sessions, the call journal, unmatched requests and "
    "unused recordings. With a token set, send `Authorization: Bearer <token>` or `X-Hudproxy-Admin-Token`."
)


def create_admin_app(service: ReplayService) -> FastAPI:
    """The admin API over a replay service (any adapter's), with routes relative to /_hudproxy."""
    app = FastAPI(
        title="hudproxy admin",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.service = service
    for module in (info, sessions, journal):
        app.include_router(module.router)
    app.add_exception_handler(HudproxyError, _bad_request)
    mount_inspector(app, service)
    return app


def mount_inspector(app: FastAPI, service: ReplayService) -> None:
    """The web inspector's pages over this server's cassette and journal, at /_hudproxy/ui (behind the same
    token as the rest of the admin API)."""
    from hudproxy.ui import Sources, create_ui_app  # Jinja loads only for a server with an admin API

    app.mount("/ui", create_ui_app(Sources.from_service(service)))


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    """A HudproxyError (e.g. an invalid session id) is the caller's mistake: 400 with its one-line message."""
    return JSONResponse({"detail": str(exc)}, status_code=400)


def mount(app: ASGIApp, prefix: str = ADMIN_PREFIX) -> ASGIApp:
    """Serve `app` under `prefix` without stripping it from the path (the ASGI root_path convention)."""

    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)

    return mounted

