"""The admin API under /_hudproxy: sessions, journal, unmatched and unused, with OpenAPI docs.

The only part of hudproxy that imports FastAPI; the replay hot path stays a bare ASGI callable. Names load on
first use, so reading `TOKEN_ENV` (the CLI) does not import FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hudproxy.lazy import lazy_exports

if TYPE_CHECKING:
    from hudproxy.admin.app import create_admin_app
    from hudproxy.admin.attach import attach_admin
    from hudproxy.admin.auth import TOKEN_ENV, is_loopback, require_token_off_loopback

_EXPORTS = {
    "attach_admin": "attach",
    "create_admin_app": "app",
    "TOKEN_ENV": "auth",
    "is_loopback": "auth",
    "require_token_off_loopback": "auth",
}
__all__ = ["TOKEN_ENV", "attach_admin", "create_admin_app", "is_loopback", "require_token_off_loopback"]
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
