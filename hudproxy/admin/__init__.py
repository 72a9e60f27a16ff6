"""The admin API under /_hudproxy: sessions, journal, unmatched and unused, with OpenAPI docs.

The only part of hudproxy that imports FastAPI; the replay hot path stays a bare ASGI callable.
"""

from hudproxy.admin.app import attach_admin, create_admin_app
from hudproxy.admin.auth import TOKEN_ENV, is_loopback, require_token_off_loopback

__all__ = ["TOKEN_ENV", "attach_admin", "create_admin_app", "is_loopback", "require_token_off_loopback"]
