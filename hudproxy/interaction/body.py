"""Decoded views of wire bodies: decompression, text detection, JSON.

The wire bytes stay the source of truth; these views exist so cassettes are readable and matching compares
meaning (JSON as data) rather than bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from dataclasses import dataclass
from typing import Any

from hudproxy.errors import HudproxyError
from hudproxy.interaction.headers import Headers, header_value

SUPPORTED_ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")
COMPRESSED_ENCODINGS = frozenset(SUPPORTED_ENCODINGS) - {"identity"}
MAX_BODY = 64 * 1024 * 1024  # the default request body limit (`--max-body`), wire and inflated
MAX_RATIO = 100  # inflated/compressed beyond this is a bomb, not data
RATIO_FLOOR = 1024 * 1024
INFLATE_STEP = 1024 * 1024  # output per decompression call
BROTLI_FEED = 16  # input bytes per brotli call: one call then yields at most one 16 MiB meta-block
ZSTD_MAX_WINDOW = 1 << 25  # 32 MiB: what zstd levels up to 22 use; larger windows are refused
GZIP_WBITS = 16 + zlib.MAX_WBITS
MAX_JSON_DEPTH = 200  # deeper JSON is data no API sends; every recursive walker stays far from the stack limit


def content_encoding(headers: Headers) -> str:
    return (header_value(headers, "content-encoding") or "identity").strip().lower()


class BodyTooLarge(HudproxyError):
    """A body, or what it inflates to, is over a limit; the server answers 413 and does no more work on it."""


@dataclass(frozen=True)
class BodyLimits:
    """How much one request body may cost: its size on the wire and inflated, and its compression ratio.

    A body of up to `ratio_floor` inflated bytes is never refused for its ratio (small JSON compresses well);
    above that, inflating stops once the output outgrows `max_ratio` times the input (a zip bomb, 1000:1).
    """

    max_size: int = MAX_BODY
    max_ratio: int = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR

    def inflated_cap(self, compressed: int) -> int:
        if not self.max_ratio:
            return self.max_size
        return min(self.max_size, max(self.ratio_floor, compressed * self.max_ratio))


REQUEST_LIMITS = BodyLimits()  # a live request's body: checked at the server's edge before any other work
STORED_LIMITS = BodyLimits(max_size=1 << 30, max_ratio=0)  # recorded bodies: only an absolute cap


def decode_body(body: bytes, encoding: str) -> bytes | None:
    """Decompress `body`; None when the encoding is unknown, the bytes are not valid for it, or it would inflate
    past 1 GiB (callers then keep the wire bytes). Live requests are held to REQUEST_LIMITS before this runs."""
    try:
        return inflate(body, encoding, STORED_LIMITS)
    except BodyTooLarge:
        return None


def inflate(body: bytes, encoding: str, limits: BodyLimits = REQUEST_LIMITS) -> bytes | None:
    """Decompress `body` piece by piece, stopping (BodyTooLarge) as soon as the output passes `limits`.

    None when the encoding is unknown or the bytes are not valid for it. Never holds more than the cap plus one
    step in memory, whatever the body claims to inflate to.
    """
    if encoding in ("identity", ""):
        return body
    sink = _CappedSink(limits.inflated_cap(len(body)), encoding, len(body))
    try:
        if encoding in ("gzip", "x-gzip"):
            return _inflate_zlib(body, GZIP_WBITS, sink, members=True)
        if encoding == "deflate":
            try:
                return _inflate_zlib(body, zlib.MAX_WBITS, sink)
            except zlib.error:
                return _inflate_zlib(body, -zlib.MAX_WBITS, _CappedSink(sink.cap, encoding, len(body)))
        if encoding == "br":
            return _inflate_brotli(body, sink)
        if encoding == "zstd":
            return _inflate_zstd(body, sink)
    except BodyTooLarge:
        raise
    except Exception:
        return None
    return None


class _CappedSink:
    """Collects inflated pieces and raises BodyTooLarge the moment they add up past `cap`."""

    def __init__(self, cap: int, encoding: str, compressed: int) -> None:
        self.cap, self.encoding, self.compressed = cap, encoding, compressed
        self.size = 0
        self.parts: list[bytes] = []

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.cap:
            self.parts.clear()
            raise BodyTooLarge(
                f"a {self.encoding} request body of {self.compressed} bytes inflates past {self.cap} bytes "
                "(the size or compression-ratio limit)"
            )
        self.parts.append(piece)

    def result(self) -> bytes:
        return b"".join(self.parts)


def _inflate_zlib(body: bytes, wbits: int, sink: _CappedSink, members: bool = False) -> bytes | None:
    """zlib/gzip with bounded output per step; `members`: gzip files may be concatenated (as gzip.decompress)."""
    data = body
    while data:
        decompressor = zlib.decompressobj(wbits)
        while not decompressor.eof:
            piece = decompressor.decompress(data, INFLATE_STEP)
            data = decompressor.unconsumed_tail
            sink.add(piece)
            if not piece and not data:
                return None  # truncated: input used up before the end of the stream
        data = decompressor.unused_data
        if not members or not data.strip(b"\0"):
            break
    return sink.result()


def _inflate_brotli(body: bytes, sink: _CappedSink) -> bytes | None:
    """brotli has no output bound per call here, so it is fed a few bytes at a time (one step <= 16 MiB)."""
    import brotli

    decompressor = brotli.Decompressor()
    for start in range(0, len(body), BROTLI_FEED):
        sink.add(decompressor.process(body[start : start + BROTLI_FEED]))
    return sink.result() if decompressor.is_finished() else None


def _inflate_zstd(body: bytes, sink: _CappedSink) -> bytes | None:
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    with decompressor.stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
        while piece := reader.read(INFLATE_STEP):
            sink.add(piece)
    return sink.result()


def encode_body(body: bytes, encoding: str) -> bytes:
    """Compress `body` again (used only when scrubbing had to change a compressed body)."""
    if encoding in ("gzip", "x-gzip"):
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "br":
        import brotli

        return brotli.compress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(body)
    return body


def as_text(body: bytes) -> str | None:
    """The body as UTF-8 text, or None when it is binary."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return text


def is_json_type(content_type: str | None) -> bool:
    ct = (content_type or "").lower()
    return "json" in ct


def parse_json(body: bytes, content_type: str | None = None) -> tuple[bool, Any]:
    """(True, data) when the body is JSON (declared, or looks like an object/array); else (False, None)."""
    if not body:
        return False, None
    stripped = body.lstrip()[:1]
    if not is_json_type(content_type) and stripped not in (b"{", b"["):
        return False, None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: too deep for the parser
        return False, None
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _deeper_than(data, MAX_JSON_DEPTH):
        return False, None  # every walker after this (scrubbing, matching, diffs) recurses: treated as bytes
    return True, data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: the point is not to recurse)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
