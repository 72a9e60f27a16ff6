"""A recorded response as the bytes an HTTP/1.1 server writes, built once per interaction and reused.

The bytes are exactly what uvicorn writes for the same ASGI messages from `ReplayApp` (status line with the
standard phrase, the recorded headers lower-cased without hop-by-hop ones, `connection: close` when the
connection ends, chunked framing when the recording has no Content-Length), so both replay paths answer alike.
A response whose framing uvicorn would refuse or stream (a streamed body, a Content-Length that does not match
the body, an odd Transfer-Encoding, a body on a 204/304, an invalid header) gets no bytes here: the caller
hands it to the ASGI app, which answers it as it always did.
"""

from __future__ import annotations

import http
import re
from dataclasses import dataclass

from hudproxy.interaction.model import Response

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"upgrade"})
HEADER_NAME_BAD = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')  # uvicorn's checks, same bytes
HEADER_VALUE_BAD = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
CLOSE = b"connection: close\r\n"
KEEP_ALIVE = b"connection: keep-alive\r\n"
ADD_CHUNKED = b"transfer-encoding: chunked\r\n"
BODILESS = (204, 304)


def status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINES = {status: status_line(status) for status in range(100, 600)}


def encode_headers(response: Response) -> list[tuple[bytes, bytes]]:
    """The recorded headers as ASGI sends them: latin-1, names lower-cased, hop-by-hop ones dropped."""
    return [
        (name.encode("latin-1").lower(), value.encode("latin-1"))
        for name, value in response.headers
        if name.lower().encode("latin-1") not in HOP_BY_HOP
    ]


@dataclass(frozen=True, slots=True)
class WireResponse:
    """One response's bytes: `head` (status line and headers, no blank line), the framed body, and which
    framing it uses; `kept_alive` is the whole answer to a keep-alive HTTP/1.1 request, the common case."""

    head: bytes
    body: bytes
    chunked: bool  # framed as chunks (no Content-Length recorded)
    adds_chunked: bool  # the `transfer-encoding: chunked` line is ours, not recorded
    kept_alive: bytes

    def answer(self, head_only: bool, keep_alive: bool, http10: bool) -> bytes:
        """The bytes for one request: HEAD gets the head alone; a closing connection says so; an HTTP/1.0
        client never gets chunks (the body then ends with the connection)."""
        if not head_only and keep_alive and not http10:
            return self.kept_alive
        parts = [self.head]
        if not keep_alive:
            parts.append(CLOSE)
        elif http10:
            parts.append(KEEP_ALIVE)
        if head_only:
            parts.append(b"\r\n")
            return b"".join(parts)
        if http10 and self.chunked:  # no chunks for HTTP/1.0 (the caller closes: keep_alive is False)
            parts += [b"\r\n", self.body]
            return b"".join(parts)
        if self.adds_chunked:
            parts.append(ADD_CHUNKED)
        parts += [b"\r\n", _framed(self.body) if self.chunked else self.body]
        return b"".join(parts)


def _framed(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"


def wire_response(response: Response) -> WireResponse | None:
    """The response's bytes, or None when it must go through the ASGI app (see the module docstring)."""
    if response.chunks or response.status not in STATUS_LINES or response.status < 200:
        return None
    headers = encode_headers(response)
    lengths, transfer = [], []
    for name, value in headers:
        if HEADER_NAME_BAD.search(name) or HEADER_VALUE_BAD.search(value):
            return None
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            transfer.append(value)
    body = response.body
    if response.status in BODILESS:
        if body or transfer or any(value.strip() != b"0" for value in lengths):
            return None
        chunked = adds = False
    elif lengths:
        if transfer or len(lengths) > 1 or not lengths[0].strip().isdigit() or int(lengths[0]) != len(body):
            return None
        chunked = adds = False
    elif transfer:
        if len(transfer) > 1 or transfer[0].lower() != b"chunked":
            return None
        chunked, adds = True, False
    else:
        chunked = adds = True
    head = b"".join([STATUS_LINES[response.status], *(b"%b: %b\r\n" % pair for pair in headers)])
    kept_alive = head + (ADD_CHUNKED if adds else b"") + b"\r\n" + (_framed(body) if chunked else body)
    return WireResponse(head, body, chunked, adds, kept_alive)
