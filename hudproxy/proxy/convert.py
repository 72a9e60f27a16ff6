"""Conversions between mitmproxy flows and hudproxy's own Request/Response, at the edge."""

from __future__ import annotations

import time

from mitmproxy import http
from mitmproxy.net.http import status_codes

from hudproxy.interaction.model import Chunk, Request, Response


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
    """The recorded response as mitmproxy sends it: the body goes out as recorded, bytes for bytes.

    `Response.make` would *encode* the body per its `Content-Encoding` (a recorded gzip body compressed twice),
    so the body is set as raw content; only `Content-Length` follows a stored body (hand edits may change it).
    """
    headers = http.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers])
    if "transfer-encoding" not in headers and (response.body or "content-length" not in headers):
        headers["content-length"] = str(len(response.body))  # HEAD, 204 and 304 keep theirs with no body
    now = time.time()
    reason = response.reason or status_codes.RESPONSES.get(response.status, "")
    return http.Response(b"HTTP/1.1", response.status, reason.encode("latin-1"), headers, response.body, None, now, now)


def should_stream(resp: http.Response) -> bool:
    content_type = resp.headers.get("content-type", "").lower()
    chunked = "chunked" in resp.headers.get("transfer-encoding", "").lower()
    return "text/event-stream" in content_type or (chunked and "content-length" not in resp.headers)
