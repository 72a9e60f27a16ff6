"""Putting the admin API on a replay app without paying for it until it is used.

Why: the admin app is FastAPI with ~600 pydantic model classes and the web inspector's Jinja templates (~0.3 s to
import and build). Every `hudproxy replay`, and every in-process `Replay` an eval starts per environment, attaches
it; most never receive a single /_hudproxy request. So the app is built on the first one.
"""

from __future__ import annotations

from collections.abc import Callable

from hudproxy.admin.auth import TokenGate
from hudproxy.replay.asgi import ADMIN_PREFIX, ASGIApp, Receive, ReplayApp, Scope, Send


class BuiltOnFirstCall:
    """An ASGI app made by `build` when the first request arrives, then kept (one event loop: no race)."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)


def attach_admin(app: ReplayApp, token: str | None = None) -> None:
    """Serve the admin API on `app`'s port under /_hudproxy; with `token`, every admin call must carry it."""

    def build() -> ASGIApp:
        from hudproxy.admin.app import create_admin_app, mount

        return mount(create_admin_app(app.service), ADMIN_PREFIX)

    admin = BuiltOnFirstCall(build)
    app.admin = TokenGate(admin, token, cookie_path=ADMIN_PREFIX) if token else admin
