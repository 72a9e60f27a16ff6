"""Decoded views of wire bodies: decompression, text detection, JSON.

The wire bytes stay the source of truth; these views exist so cassettes are readable and matching compares
meaning (JSON as data) rather than bytes.
"""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from hudproxy.interaction.headers import Headers, header_value

SUPPORTED_ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")


def content_encoding(headers: Headers) -> str:
    return (header_value(headers, "content-encoding") or "identity").strip().lower()


def decode_body(body: bytes, encoding: str) -> bytes | None:
    """Decompress `body`; None when the encoding is unknown or the bytes are not valid for it."""
    try:
        if encoding in ("identity", ""):
            return body
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if encoding == "br":
            import brotli

            return brotli.decompress(body)
        if encoding == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    except Exception:
        return None
    return None


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
        return True, json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False, None
