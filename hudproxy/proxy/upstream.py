"""How the recording proxy reaches upstreams, and what a client is told when it cannot.

mitmproxy answers an upstream failure with an HTML page, or (connecting eagerly, its default in reverse mode)
drops the client's connection with no word at all. hudproxy connects lazily in reverse mode (on the first
request, so a failure belongs to a request) and answers that request, in plain HTTP or inside a TLS tunnel it
terminates, with `502` and a JSON body naming the upstream and the cause:
refused, dns, tls, timeout, connect (another connection error) or response (connected, then no valid answer).
An upstream that accepts but never answers is given `--upstream-timeout` seconds for its response headers (a
stream may then take as long as it likes).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import http
from mitmproxy.net.http import http1

from hudproxy.netutil import failure_cause

log = logging.getLogger("hudproxy.record")

DEFAULT_TIMEOUT = 60.0  # seconds until the upstream's response headers; a slow LLM call fits, a dead port does not
TIMED_OUT = "hudproxy_timed_out"


@dataclass(frozen=True)
class Upstream:
    """How the recorder trusts upstreams' certificates."""

    insecure: bool = False
    ca: Path | None = None  # a private CA (a staging API's) trusted for upstreams besides the system's CAs

    def mitm_options(self) -> dict[str, Any]:
        """mitmproxy's options for verifying the upstream (its own option *replaces* the trusted CAs, so it gets
        the system's CAs plus `ca`)."""
        from hudproxy.proxy.ca import upstream_bundle

        options: dict[str, Any] = {"ssl_insecure": self.insecure}
        if self.ca is not None:
            options["ssl_verify_upstream_trusted_ca"] = str(upstream_bundle(self.ca))
        return options


@dataclass(frozen=True)
class Failure:
    """Why a forwarded request got no answer: what the client, the log and the journal are told."""

    target: str
    cause: str  # refused | dns | tls | timeout | connect | response
    detail: str

    def describe(self, request: str) -> str:
        return f"{request}: the upstream {self.target} failed ({self.cause}): {self.detail}"

    def response(self, request: str) -> http.Response:
        body = {
            "error": "hudproxy could not get an answer from the upstream; nothing was recorded",
            "target": self.target,
            "cause": self.cause,
            "detail": self.detail,
            "request": request,
        }
        headers = {"Content-Type": "application/json", "Connection": "close", "X-Hudproxy-Error": self.cause}
        return http.Response.make(502, json.dumps(body, ensure_ascii=False) + "\n", headers)


def origin(flow: http.HTTPFlow) -> str:
    """The upstream's scheme://host:port, as the recorder would call it (reverse mode: the target)."""
    request = flow.request
    host = f"[{request.host}]" if ":" in request.host else request.host
    if request.method == "CONNECT":  # a tunnel: host and port are all there is
        return f"{host}:{request.port}"
    default = 443 if request.scheme == "https" else 80
    port = "" if request.port == default else f":{request.port}"
    return f"{request.scheme}://{host}{port}"


def failure_of(flow: http.HTTPFlow, message: str | None = None) -> Failure | None:
    """The upstream's failure behind `flow.error` (or `message`), or None when the client went away."""
    message = message or (flow.error.msg if flow.error else "unknown error")
    lowered = message.lower()
    if flow.metadata.get(TIMED_OUT):
        seconds = flow.metadata[TIMED_OUT]
        return Failure(origin(flow), "timeout", f"no response headers within {seconds:g} s (--upstream-timeout)")
    if lowered.startswith("client disconnected") or "client closed" in lowered:
        return None
    server = flow.server_conn
    if (named := failure_cause(message)) is not None:
        cause = named
    elif server.timestamp_tcp_setup is None:
        cause = "connect"
    elif flow.request.scheme == "https" and not server.tls_established:
        cause = "tls"
    else:
        cause = "response"  # connected, then the upstream closed or sent something that is not HTTP
    return Failure(origin(flow), cause, message)


def answer_failures_with_flow_response() -> None:
    """Let an addon's `error` hook answer a failed upstream by setting `flow.response` (once per process).

    mitmproxy 11 ignores that `flow.response` and sends its own HTML 502 page (upstream PR #7999 proposes the
    very behaviour added here). This wraps `HttpStream.handle_protocol_error`: when the hook set a response
    the flow did not have before, the client gets that response in place of the page, over whatever the client
    speaks (plain HTTP/1, HTTP/1 or HTTP/2 inside a TLS tunnel hudproxy terminates). Nothing else changes:
    without such a response, mitmproxy's own answer goes out as before.
    """
    from mitmproxy.proxy.layers import http as layers

    original = layers.HttpStream.handle_protocol_error
    if getattr(original, "hudproxy_answers", False):
        return

    def handle_protocol_error(self: Any, event: Any) -> Any:
        had_response = self.flow.response is not None
        steps = original(self, event)
        reply: Any = None
        while True:
            try:
                command = steps.send(reply)
            except StopIteration as done:
                return done.value
            error_page = (
                isinstance(command, layers.SendHttp)
                and isinstance(command.event, layers.ResponseProtocolError)
                and command.connection is self.context.client
            )
            if error_page and not had_response and self.flow.response is not None:
                yield from _send(self, self.flow.response)
                reply = None
            else:
                reply = yield command

    handle_protocol_error.hudproxy_answers = True  # type: ignore[attr-defined]
    layers.HttpStream.handle_protocol_error = handle_protocol_error  # type: ignore[method-assign]


def _send(stream: Any, response: http.Response) -> Any:
    """The commands that send `response` whole to the stream's client (as mitmproxy sends an addon's)."""
    from mitmproxy.proxy.layers import http as layers

    response.timestamp_start = response.timestamp_start or time.time()
    response.timestamp_end = time.time()
    content = response.raw_content or b""
    client = stream.context.client
    yield layers.SendHttp(layers.ResponseHeaders(stream.stream_id, response, not content), client)
    if content:
        yield layers.SendHttp(layers.ResponseData(stream.stream_id, content), client)
    yield layers.SendHttp(layers.ResponseEndOfMessage(stream.stream_id), client)


def answer_directly(master: Any, flow: http.HTTPFlow, response: http.Response) -> bool:
    """Send `response` to a plain HTTP/1 client before mitmproxy has read the request's body (the recorder's 413
    for a body over --max-body); False if that cannot be done (a TLS or HTTP/2 client: the caller kills the flow).
    The bytes go straight onto the client's socket and the flow is killed, so mitmproxy adds nothing of its own.
    """
    client = flow.client_conn
    if master is None or client.tls or not flow.request.http_version.startswith("HTTP/1") or not flow.killable:
        return False
    handler = master.addons.get("proxyserver").connections.get(client.id)
    io = handler.transports.get(client) if handler is not None else None
    writer = getattr(io, "writer", None)
    if writer is None or writer.is_closing():
        return False
    writer.write(http1.assemble_response(response))
    flow.kill()
    return True


def stop_waiting(master: Any, flow: http.HTTPFlow, seconds: float) -> None:
    """The upstream took too long: close the upstream connection; the `error` hook then answers the client."""
    if flow.response is not None or not flow.live or flow.error is not None or master is None:
        return
    flow.metadata[TIMED_OUT] = seconds
    handler = master.addons.get("proxyserver").connections.get(flow.client_conn.id)
    if handler is None:
        return
    address = (flow.request.host, flow.request.port)
    # the flow's server connection, or (still connecting) the one being opened to its address
    tasks = [
        io.handler
        for connection, io in list(handler.transports.items())
        if connection is not flow.client_conn
        and io.handler is not None
        and (connection is flow.server_conn or connection.address == address)
    ]
    for task in tasks:
        task.cancel("hudproxy: upstream timeout")
    if not tasks:
        log.debug("timeout for %s, but its upstream connection is already gone", flow.request.pretty_url)
