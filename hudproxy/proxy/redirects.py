"""While recording in reverse mode: what the client receives points back at the proxy, what is recorded does not.

The record addon notes, per request, the target's origin and the proxy's as the client used it (`note`); this
addon runs after the record addon (it is its sub-addon) and sends the client a copy of the response whose
Location-like headers point at the proxy (`hudproxy.interaction.locations`). The recorded response object is
never changed, so the cassette keeps what the upstream sent.
"""

from __future__ import annotations

from typing import Any

from mitmproxy import http
from mitmproxy.net.http import url
from mitmproxy.proxy.mode_specs import ReverseMode

from hudproxy.interaction.locations import proxy_origin, relocated

ORIGINS = "hudproxy_origins"  # flow.metadata: (target origin, proxy origin as the client used it)


def note(flow: http.HTTPFlow, keeps_host_header: bool) -> None:
    """In the `request` hook, before anything reads the request: remember where the client thinks it is, and (if
    mitmproxy kept the client's Host for that) give the upstream the target's Host, as mitmproxy would have."""
    mode = flow.client_conn.proxy_mode
    if not isinstance(mode, ReverseMode):
        return
    scheme = "https" if mode.scheme in ("https", "tls") else "http"
    host, port = mode.address
    target = f"{scheme}://{url.hostport(scheme, host, port)}"
    client_scheme = "https" if flow.client_conn.tls else "http"
    client_host = flow.request.host_header if keeps_host_header else None
    flow.metadata[ORIGINS] = (target, proxy_origin(client_scheme, client_host, flow.client_conn.sockname))
    if keeps_host_header:
        flow.request.host_header = url.hostport(scheme, host, port)


def _pointed_home(flow: http.HTTPFlow) -> http.Response | None:
    """A copy of the response with its Location-like headers pointing at the proxy; None when nothing changes."""
    origins = flow.metadata.get(ORIGINS)
    if origins is None or flow.response is None:
        return None
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in flow.response.headers.fields)
    moved = relocated(headers, *origins)
    if moved is None:
        return None
    copy = flow.response.copy()
    copy.headers = http.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in moved])
    return copy


class KeepOnProxy:
    """mitmproxy sub-addon of RecordAddon: its hooks run after the record addon's."""

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """A streamed response's headers go out right after this hook: send the copy now, and put the recorded
        response back at the first chunk (before the `response` hook records it)."""
        if flow.response is None or not flow.response.stream:
            return
        copy = _pointed_home(flow)
        if copy is None:
            return
        recorded = flow.response
        forward = recorded.stream

        def first_chunk(data: bytes) -> Any:
            flow.response = recorded
            return forward(data) if callable(forward) else data

        copy.stream = first_chunk
        flow.response = copy

    def response(self, flow: http.HTTPFlow) -> None:
        """A whole response goes out after this hook (the record addon has kept the upstream's already)."""
        if flow.response is None or flow.response.stream:
            return
        copy = _pointed_home(flow)
        if copy is not None:
            flow.response = copy
