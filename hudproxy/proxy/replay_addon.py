"""Forward-proxy replay: mitmproxy terminates TLS with hudproxy's CA and every request is answered by the
replay core. No upstream connection is ever opened: connection_strategy=lazy, every flow gets a response in the
`request` hook, and `server_connect` kills any connection mitmproxy would still open: bytes after a CONNECT that
are neither TLS nor HTTP become a raw TCP flow whose client connection is closed, never relayed.

Fault rules (`--faults`, a session's own) act here as in reverse mode, with one difference: mitmproxy sends whole
answers, so a cut or stalled stream is dropped before its first byte (a reset after the stall's wait).

A session comes from the proxy credentials (`http://<session-id>@127.0.0.1:8080`: the client sends
`Proxy-Authorization: Basic base64(<session-id>:)` on CONNECT or on each plain-HTTP request), else from the
`X-Hudproxy-Session` header or a `/s/<id>/` path prefix, as in reverse mode.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time

from mitmproxy import http, tcp
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from hudproxy.faults.model import Fault, StallFault, TimeoutFault
from hudproxy.faults.transport import TRANSPORT_FAULTS
from hudproxy.interaction.model import Request
from hudproxy.proxy.convert import request_from_flow, response_to_flow
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import split_session_path

PROXY_AUTH = "proxy-authorization"
NEVER_CONNECTS = "hudproxy replay never connects upstream"

log = logging.getLogger("hudproxy.replay")


def session_from_proxy_auth(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None


class ReplayAddon:
    def __init__(self, service: ReplayService) -> None:
        self.service = service
        self._conn_sessions: dict[str, str] = {}

    def http_connect(self, flow: http.HTTPFlow) -> None:
        session = session_from_proxy_auth(flow.request.headers.get(PROXY_AUTH))
        if session:
            self._conn_sessions[flow.client_conn.id] = session

    def client_disconnected(self, client: object) -> None:
        self._conn_sessions.pop(getattr(client, "id", ""), None)

    def _session_and_request(self, flow: http.HTTPFlow) -> tuple[str | None, Request]:
        request = request_from_flow(flow.request)
        session = session_from_proxy_auth(flow.request.headers.get(PROXY_AUTH))
        session = session or self._conn_sessions.get(flow.client_conn.id)
        session = session or flow.request.headers.get("x-hudproxy-session")
        prefixed, path = split_session_path(flow.request.path)
        if prefixed is not None:
            session = session or prefixed
            request = Request(
                request.method, request.url.replace(flow.request.path, path, 1), request.headers, request.body
            )
        headers = tuple((k, v) for k, v in request.headers if k.lower() != PROXY_AUTH)
        return session, Request(request.method, request.url, headers, request.body)

    async def request(self, flow: http.HTTPFlow) -> None:
        started, clock = time.time(), time.perf_counter()
        session_id, request = self._session_and_request(flow)
        session, outcome = await self.service.answer(session_id, request)
        self.service.journaled(session, outcome, started, clock)
        fault = outcome.fault.fault if outcome.fault is not None else None
        if fault is not None and fault.kind in TRANSPORT_FAULTS:
            await act_out_forward(fault, flow)
            return
        flow.response = response_to_flow(outcome.response)

    def server_connect(self, data: ServerConnectionHookData) -> None:
        """The last guard: whatever layer asked for it, replay opens no connection anywhere."""
        data.server.error = NEVER_CONNECTS
        log.warning("refused: a connection to %s (replay never connects upstream)", _address(data.server.address))

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        """A raw TCP stream (not TLS, not HTTP) is never relayed: the client's connection is closed."""
        flow.kill()

    def done(self) -> None:
        self.service.close()


async def act_out_forward(fault: Fault, flow: http.HTTPFlow) -> None:
    """A transport fault through mitmproxy, which sends whole answers only: the client's connection is killed
    (after holding it, for a timeout or a stall); a cut or stalled stream ends before its first byte here."""
    if isinstance(fault, TimeoutFault | StallFault):
        await asyncio.sleep(fault.seconds)
    flow.kill()


def _address(address: tuple[str, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "an unknown address"
