"""The mitmproxy adapter: the only module that imports mitmproxy.

An addon converts mitmproxy flows to hudproxy Requests/Responses at the edge and asks the sans-IO Recorder
what to do. Streamed responses (SSE, chunked without a length) pass through to the client chunk by chunk
while a tap keeps the bytes and their timing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from hudproxy.errors import RecordingError
from hudproxy.interaction.model import Chunk, Request, Response
from hudproxy.record.recorder import Recorder

log = logging.getLogger("hudproxy.record")

try:
    from mitmproxy import http
    from mitmproxy.options import Options
    from mitmproxy.tools.dump import DumpMaster
except ImportError as exc:  # pragma: no cover - depends on the install
    raise RecordingError(
        "recording needs mitmproxy: run `pip install --no-deps mitmproxy==11.0.2` (see README, Install)."
    ) from exc


class ChunkTap:
    """mitmproxy's stream callback: forwards each chunk unchanged and remembers it with its arrival time."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.parts: list[bytes] = []
        self.chunks: list[Chunk] = []

    def __call__(self, data: bytes) -> bytes:
        if data:
            self.parts.append(data)
            self.chunks.append(Chunk(len(data), (time.monotonic() - self.started) * 1000))
        return data

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


def request_from_flow(req: http.Request) -> Request:
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in req.headers.fields)
    return Request(req.method, req.pretty_url, headers, req.raw_content or b"")


def response_from_flow(resp: http.Response, body: bytes) -> Response:
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers.fields)
    return Response(resp.status_code, resp.reason, headers, body)


def response_to_flow(response: Response) -> http.Response:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    return http.Response.make(response.status, response.body, headers)


def should_stream(resp: http.Response) -> bool:
    content_type = resp.headers.get("content-type", "").lower()
    chunked = "chunked" in resp.headers.get("transfer-encoding", "").lower()
    return "text/event-stream" in content_type or (chunked and "content-length" not in resp.headers)


class RecordAddon:
    """mitmproxy addon hooks → Recorder decisions."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def request(self, flow: http.HTTPFlow) -> None:
        flow.metadata["hudproxy_started"] = time.monotonic()
        request = request_from_flow(flow.request)
        flow.metadata["hudproxy_request"] = request
        outcome = self.recorder.on_request(request)
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
        if flow.metadata.get("hudproxy_answered") or flow.response is None:
            return
        tap: ChunkTap | None = flow.metadata.get("hudproxy_tap")
        body = tap.body if tap is not None else (flow.response.raw_content or b"")
        duration = (time.monotonic() - flow.metadata["hudproxy_started"]) * 1000
        recorded = self.recorder.on_response(
            flow.metadata["hudproxy_request"],
            response_from_flow(flow.response, body),
            duration,
            tuple(tap.chunks) if tap is not None else (),
        )
        log.info("recorded #%d %s -> %d", recorded.index, recorded.request.describe(), recorded.response.status)

    def error(self, flow: http.HTTPFlow) -> None:
        request = flow.metadata.get("hudproxy_request")
        what = request.describe() if request else flow.request.pretty_url
        log.error("not recorded: %s failed upstream: %s", what, flow.error.msg if flow.error else "unknown error")


async def run_proxy(
    recorder: Recorder,
    mode: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    insecure: bool = False,
    on_master: Callable[[Any], None] | None = None,
    handle_signals: bool = True,
) -> None:
    """Run mitmproxy with the record addon until shutdown; the cassette is flushed by the caller."""
    master = DumpMaster(Options(mode=[mode], listen_host=host, listen_port=port), with_termlog=False, with_dumper=False)
    master.options.update(ssl_insecure=insecure)  # declared by an addon, so set after construction
    master.addons.add(RecordAddon(recorder))
    if on_master is not None:
        on_master(master)
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, master.shutdown)
    await master.run()
