"""Recording through mitmproxy (reverse or forward mode).

An addon converts mitmproxy flows to hudproxy Requests/Responses at the edge and asks the sans-IO Recorder
what to do. Streamed responses (SSE, chunked without a length) pass through to the client chunk by chunk
while a tap keeps the bytes and their timing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any

from mitmproxy import http

from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.answers import write_failed_response
from hudproxy.interaction.body import COMPRESSED_ENCODINGS, MAX_BODY, BodyTooLarge, content_encoding, inflate
from hudproxy.interaction.model import Request
from hudproxy.proxy.convert import ChunkTap, request_from_flow, response_from_flow, response_to_flow, should_stream
from hudproxy.proxy.hosts import host_allowed
from hudproxy.proxy.redirects import KeepOnProxy, note
from hudproxy.proxy.upstream import (
    DEFAULT_TIMEOUT,
    answer_directly,
    answer_failures_with_flow_response,
    failure_of,
    stop_waiting,
)
from hudproxy.record.recorder import Recorder
from hudproxy.replay.limits import limits_for, too_large_response
from hudproxy.scrub.scrubber import scrub_request

log = logging.getLogger("hudproxy.record")


class RecordAddon:
    """mitmproxy addon hooks → Recorder decisions.

    In forward mode, `allow_hosts` limits what is recorded: other hosts are tunnelled untouched by mitmproxy
    (its `allow_hosts` option), or refused with 403 when `block_others` is set.
    """

    def __init__(
        self,
        recorder: Recorder,
        allow_hosts: list[str] | None = None,
        block_others: bool = False,
        upstream_timeout: float | None = DEFAULT_TIMEOUT,
        max_body: int = MAX_BODY,
    ) -> None:
        self.recorder = recorder
        self.max_body = max_body  # request bodies only: an upstream's large answer is recorded as it is
        self.limits = limits_for(max_body)  # and what a compressed request body may inflate to (size, ratio)
        self.allow_hosts = allow_hosts or []
        self.block_others = block_others
        self.upstream_timeout = upstream_timeout
        self.master: Any = None  # the mitmproxy master running this addon, to answer a failed upstream
        self.addons = [KeepOnProxy()]  # runs after this addon: redirects to the target point back at the proxy
        answer_failures_with_flow_response()

    def load(self, loader: Any) -> None:
        self.master = loader.master
        # reverse mode: the client's Host reaches `request` (where a redirect must send it back); `note` then
        # gives the upstream the target's Host, as mitmproxy does when it does not keep the client's
        self.master.options.update(keep_host_header=True)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if self.block_others and not host_allowed(flow.request.host, self.allow_hosts):
            flow.response = http.Response.make(403, f"hudproxy: {flow.request.host} is not an allowed host\n")

    def http_connect_error(self, flow: http.HTTPFlow) -> None:
        """Forward mode: a CONNECT to an upstream that cannot be reached gets the JSON 502, an ERROR line and a
        journal row, as a failed request does (mitmproxy's own text otherwise; most clients only show the status)."""
        if flow.response is None or flow.response.status_code != 502:
            return  # refused by us (403, --block-others), not an upstream failure
        said = (flow.response.get_text(strict=False) or "").split(" If you plan", 1)[0]  # advice for mitmproxy users
        failure = failure_of(flow, said or None)
        if failure is None:
            return
        what = f"CONNECT {failure.target}"
        log.error("not tunnelled: %s", failure.describe(what))
        flow.response = answer = failure.response(what)
        duration = (time.time() - flow.request.timestamp_start) * 1000
        self.recorder.failed(request_from_flow(flow.request), response_from_flow(answer, answer.raw_content or b""),
                             duration, parent=self.recorder.caused_by())  # fmt: skip

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """A request declaring a body over `--max-body` is refused before its body is read (mitmproxy's own
        body_size_limit would also turn every large upstream response into a 502, so it is not used)."""
        declared = flow.request.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_body:
            self._refuse_too_large(flow, f"the request body declares {declared} bytes, over {self.max_body}")

    def _refuse_too_large(self, flow: http.HTTPFlow, reason: str) -> None:
        """413 naming the limit; nothing reaches the upstream or the cassette. Before the body was read the
        answer goes straight to a plain HTTP/1 client (a TLS or HTTP/2 one is disconnected: its body is never
        buffered)."""
        line = replace(request_from_flow(flow.request), body=b"")  # the refused body is never looked at again
        what = scrub_request(line, self.recorder.scrub).describe()  # no secret logged
        log.warning("not recorded: %s: %s (--max-body)", what, reason)
        answer = too_large_response(reason)
        flow.metadata["hudproxy_answered"] = flow.metadata["hudproxy_too_large"] = True
        reply = http.Response.make(answer.status, answer.body, dict(answer.headers))
        if flow.request.data.content is not None:  # the body was read (chunked, no length): answer normally
            flow.response = reply
        elif not answer_directly(self.master, flow, reply):
            flow.kill()

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("hudproxy_answered"):
            return
        body = flow.request.raw_content or b""
        if len(body) > self.max_body:  # chunked: no length to refuse it by earlier
            self._refuse_too_large(flow, f"the request body is over {self.max_body} bytes")
            return
        encoding = content_encoding(tuple(flow.request.headers.items(multi=True)))
        if body and encoding in COMPRESSED_ENCODINGS:  # a zip bomb is refused on a worker thread, as on replay
            try:
                await asyncio.to_thread(inflate, body, encoding, self.limits)
            except BodyTooLarge as exc:
                self._refuse_too_large(flow, str(exc))
                return
        self._forward_or_answer(flow)

    def _forward_or_answer(self, flow: http.HTTPFlow) -> None:
        note(flow, keeps_host_header=self.master is not None and self.master.options.keep_host_header)
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
        elif self.upstream_timeout is not None:
            timer = asyncio.get_running_loop().call_later(
                self.upstream_timeout, stop_waiting, self.master, flow, self.upstream_timeout
            )
            flow.metadata["hudproxy_timer"] = timer

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if (timer := flow.metadata.pop("hudproxy_timer", None)) is not None:
            timer.cancel()
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
        """A forwarded request got no answer: the client gets a 502 naming the upstream and the cause, the log
        an ERROR, the journal a row; the cassette nothing."""
        if (timer := flow.metadata.pop("hudproxy_timer", None)) is not None:
            timer.cancel()
        if flow.metadata.get("hudproxy_too_large"):
            return  # killed by us after its 413 went out
        request: Request | None = flow.metadata.get("hudproxy_request")
        # named as the cassette would hold it: the log and the 502 never carry the request's secrets
        live = request if request is not None else request_from_flow(flow.request)
        what = scrub_request(live, self.recorder.scrub).describe()
        failure = failure_of(flow)
        if failure is None:
            log.info("not recorded: %s: %s", what, flow.error.msg if flow.error else "the client went away")
            return
        log.error("not recorded: %s", failure.describe(what))
        answer = failure.response(what)
        if request is not None and flow.metadata.get("hudproxy_started") is not None:
            duration = (time.monotonic() - flow.metadata["hudproxy_started"]) * 1000
            self.recorder.failed(request, response_from_flow(answer, answer.raw_content or b""), duration,
                                 parent=flow.metadata.get("hudproxy_parent"))  # fmt: skip
        flow.response = answer  # sent in place of mitmproxy's error page (see answer_failures_with_flow_response)
