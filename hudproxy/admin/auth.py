"""Who may use the admin API: a bearer token when one is set, and never an open admin API off loopback.

The gate is a plain ASGI wrapper rather than a FastAPI dependency so it covers every admin path alike: the
endpoints, the OpenAPI document, the docs page and even 404s.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.responses import JSONResponse

from hudproxy.errors import ConfigError
from hudproxy.replay.asgi import ASGIApp, Receive, Scope, Send

TOKEN_ENV = "HUDPROXY_ADMIN_TOKEN"
TOKEN_HEADER = b"x-hudproxy-admin-token"


class TokenGate:
    """Passes a request on only when it carries the token: `Authorization: Bearer T` or `X-Hudproxy-Admin-Token: T`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allows(scope["headers"]):
            await self.app(scope, receive, send)
            return
        refusal = JSONResponse(
            {"detail": "admin API: missing or wrong token; send `Authorization: Bearer <token>`."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await refusal(scope, receive, send)

    def allows(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Constant-time comparison, so response timing does not leak the token."""
        for name, value in headers:
            if name == b"authorization":
                scheme, _, credential = value.partition(b" ")
                if scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token):
                    return True
            elif name == TOKEN_HEADER and hmac.compare_digest(value.strip(), self._token):
                return True
        return False


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: only this machine can connect."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_off_loopback(host: str, token: str | None) -> None:
    """The admin API can reset and drop every session: off loopback it must not be open to anyone."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"--host {host} is reachable from other machines, and so would be the admin API at /_hudproxy; "
            f"set --admin-token TOKEN (or {TOKEN_ENV}), or listen on 127.0.0.1."
        )
