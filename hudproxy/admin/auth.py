"""Who may use the admin API: a bearer token when one is set, and never an open admin API off loopback.

The gate is a plain ASGI wrapper rather than a FastAPI dependency so it covers every admin path alike: the
endpoints, the OpenAPI document, the docs page and even 404s.
"""

from __future__ import annotations

import hmac
import ipaddress
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse, RedirectResponse

from hudproxy.errors import ConfigError
from hudproxy.replay.asgi import ASGIApp, Receive, Scope, Send

TOKEN_ENV = "HUDPROXY_ADMIN_TOKEN"
TOKEN_HEADER = b"x-hudproxy-admin-token"
TOKEN_COOKIE = "hudproxy_admin_token"  # a browser cannot send a header: the web inspector's pages carry this
TOKEN_QUERY = "token"  # `/_hudproxy/ui?token=T` once: answered with the cookie and a redirect to the bare URL


class TokenGate:
    """Passes a request on only when it carries the token: `Authorization: Bearer T` or `X-Hudproxy-Admin-Token: T`."""

    def __init__(self, app: ASGIApp, token: str, cookie_path: str = "/") -> None:
        self.app = app
        self._token = token.encode("utf-8")
        self._cookie_path = cookie_path  # the cookie goes back only to the gated paths (/_hudproxy on a replay)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allows(scope["headers"]):
            await self.app(scope, receive, send)
            return
        if self._token_in_query(scope):
            await self._set_cookie(scope)(scope, receive, send)
            return
        refusal = JSONResponse(
            {"detail": "admin API: missing or wrong token; send `Authorization: Bearer <token>`."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await refusal(scope, receive, send)

    def allows(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Constant-time comparison, so response timing does not leak the token."""
        return any(self._header_holds(name, value) for name, value in headers)

    def _header_holds(self, name: bytes, value: bytes) -> bool:
        if name == b"authorization":
            scheme, _, credential = value.partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token)
        if name == TOKEN_HEADER:
            return hmac.compare_digest(value.strip(), self._token)
        return name == b"cookie" and self._cookie_holds(value)

    def _cookie_holds(self, header: bytes) -> bool:
        cookie = SimpleCookie()
        try:
            cookie.load(header.decode("latin-1"))
        except Exception:  # a malformed Cookie header is no token
            return False
        morsel = cookie.get(TOKEN_COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode("utf-8"), self._token)

    def _token_in_query(self, scope: Scope) -> bool:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            return False
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if name == TOKEN_QUERY and hmac.compare_digest(value.encode("utf-8"), self._token):
                return True
        return False

    def _set_cookie(self, scope: Scope) -> RedirectResponse:
        """A link with `?token=` (printed by CI, say) logs the browser in: the cookie, and the URL without it."""
        rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1")) if k != TOKEN_QUERY]
        target = scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(TOKEN_COOKIE, self._token.decode("utf-8"), httponly=True, samesite="strict",
                            path=self._cookie_path)  # fmt: skip
        return response


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
