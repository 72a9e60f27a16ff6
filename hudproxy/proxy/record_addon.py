"""Recording through mitmproxy (reverse or forward mode).

An addon converts mitmproxy flows to hudproxy Requests/Responses at the edge and asks the sans-IO Recorder
what to do. Streamed responses (SSE, chunked without a length) pass through to the client chunk by chunk
while a tap keeps the bytes and their timing.
"""

from __future__ import annotations

import logging
import time

from mitmproxy import http

from hudproxy.errors import CassetteWriteError
from hudproxy.proxy.convert import ChunkTap, request_from_flow, response_from_flow, response_to_flow, should_stream
from hudproxy.proxy.hosts import host_allowed
from hudproxy.record.recorder import Recorder, write_failed_response

log = logging.getLogger("hudproxy.record")


class RecordAddon:
    """mitmproxy addon hooks → Recorder decisions.

    In forward mode, `allow_hosts` limits what is recorded: other hosts are tunnelled untouched by mitmproxy
    (its `allow_hosts` option), or refused with 403 when `block_others` is set.
    """

    def __init__(self, recorder: Recorder, allow_hosts: list[str] | None = None, block_others: bool = False) -> None:
        self.recorder = recorder
        self.allow_hosts = allow_hosts or []
        self.block_others = block_others

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if self.block_others and not host_allowed(flow.request.host, self.allow_hosts):
            flow.response = http.Response.make(403, f"hudproxy: {flow.request.host} is not an allowed host\n")

    def request(self, flow: http.HTTPFlow) -> None:
        if not host_allowed(flow.request.host, self.allow_hosts):
            if self.block_others:
                flow.response = http.Response.make(403, f"hudproxy: {flow.request.host} is not an allowed host\n")
            flow.metadata["hudproxy_answered"] = True
            return
        flow.metadata["hudproxy_started"] = time.monotonic()
        request = request_from_flow(flow.request)
        flow.metadata["hudproxy_request"] = request
        # decided on arrival: the MCP tool call running now (if exactly one) caused this request
        parent = flow.metadata["hudproxy_parent"] = self.recorder.caused_by()
        outcome = self.recorder.on_request(request, parent=parent)
        if outcome is not None:
            flow.metadata["hudproxy_answered"] = True
            flow.response = response_to_flow(outcome.response)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("hudproxy_answered") or flow.response is None:
            return
        if should_stream(flow.response):
            tap = ChunkTap()
            flow.metadata["hudproxy_tap"] = tap
            flow.response.stream = tap

    def response(self, flow: http.HTTPFlow) -> None:
        """Runs before mitmproxy sends the response (for a stream: before its end): the interaction is written
        first (one log line, tens of microseconds: cheaper here than a hop to a thread), and a client is never
        told 200 for an unrecorded one."""
        if flow.metadata.get("hudproxy_answered") or flow.response is None:
            return
        tap: ChunkTap | None = flow.metadata.get("hudproxy_tap")
        body = tap.body if tap is not None else (flow.response.raw_content or b"")
        duration = (time.monotonic() - flow.metadata["hudproxy_started"]) * 1000
        try:
            recorded = self.recorder.on_response(
                flow.metadata["hudproxy_request"],
                response_from_flow(flow.response, body),
                duration,
                tuple(tap.chunks) if tap is not None else (),
                parent=flow.metadata.get("hudproxy_parent"),
            )
        except CassetteWriteError as exc:
            if tap is not None:
                flow.kill()  # the stream's bytes went out; withholding its end tells the client it is incomplete
            else:
                flow.response = response_to_flow(write_failed_response(exc))
            return
        log.debug("recorded #%d %s -> %d", recorded.index, recorded.request.describe(), recorded.response.status)

    def error(self, flow: http.HTTPFlow) -> None:
        request = flow.metadata.get("hudproxy_request")
        what = request.describe() if request else flow.request.pretty_url
        log.error("not recorded: %s failed upstream: %s", what, flow.error.msg if flow.error else "unknown error")
