"""Conversion between the file schema (vcrpy-shaped) and hudproxy's Interaction values.

Readable on disk, exact in memory: text bodies are stored as text, binary ones as `!!binary` (YAML) or
base64 (JSON), and a compressed text body is stored decoded with its exact wire bytes kept beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import zlib
from typing import TYPE_CHECKING, Any

from hudproxy.cassette.values import Malformed
from hudproxy.interaction.body import as_text, content_encoding, decode_body
from hudproxy.interaction.headers import Headers, header_value, replace_header, without_headers
from hudproxy.interaction.model import Chunk, Interaction, Request, Response

if TYPE_CHECKING:  # the pydantic schema (~0.1 s to build) loads only where a file's shape needs checking
    from hudproxy.cassette.schema import FileBody, FileInteraction, WireBody

# ---------------------------------------------------------------- file -> model


def headers_from_file(headers: dict[str, list[str] | str]) -> Headers:
    out: list[tuple[str, str]] = []
    for name, values in headers.items():
        if isinstance(values, list):
            out.extend((name, str(v)) for v in values)
        else:
            out.append((name, str(values)))
    return tuple(out)


def _body_bytes(body: str | bytes | FileBody | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if body.base64_string is not None:
        return base64.b64decode(body.base64_string)
    return _body_bytes(body.string)


def _apply_wire(headers: Headers, body: bytes, wire: WireBody | None) -> tuple[Headers, bytes]:
    if wire is None:
        return headers, body
    for name, value in wire.headers.items():
        if name.lower() == "content-encoding" and wire.encoding_at is not None:
            listed = list(headers)
            listed.insert(min(wire.encoding_at, len(listed)), (name, value))
            headers = tuple(listed)
        else:
            headers = replace_header(headers, name, value)
    return headers, base64.b64decode(wire.base64)


def consistent(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """Make a foreign cassette's response headers agree with its body, so every HTTP server can send it.

    Only for interactions another tool wrote (no `hudproxy` key): hudproxy's own recordings are replayed exactly.
    Cassettes from other tools are not always consistent: vcrpy with `requests` stores the *decoded* body but
    keeps `Content-Encoding: gzip` and the wire `Content-Length`, and hand edits change body lengths.
    """
    if not body:
        return headers, body  # HEAD, 204 and 304 answers keep their Content-Length with no body
    length = header_value(headers, "content-length")
    encoding = content_encoding(headers)
    if encoding != "identity" and not is_encoded(body, encoding):
        headers = without_headers(headers, ["content-encoding"])
    if length is not None and length.strip() != str(len(body)):
        headers = replace_header(headers, "Content-Length", str(len(body)))
    return headers, body


def interaction_from_file(item: FileInteraction, position: int) -> Interaction:
    from hudproxy.cassette.schema import InteractionMeta

    meta = item.hudproxy or InteractionMeta()
    req_headers, req_body = _apply_wire(
        headers_from_file(item.request.headers), _body_bytes(item.request.body), meta.request_wire
    )
    resp_headers, resp_body = _apply_wire(
        headers_from_file(item.response.headers), _body_bytes(item.response.body), meta.wire
    )
    if item.hudproxy is None:
        resp_headers, resp_body = consistent(resp_headers, resp_body)
    request = Request(item.request.method.upper(), item.request.uri, req_headers, req_body)
    response = Response(
        status=item.response.status.code,
        reason=item.response.status.message,
        headers=resp_headers,
        body=resp_body,
        chunks=tuple(Chunk(int(size), float(at)) for size, at in (meta.chunks or ())),
    )
    return Interaction(
        request=request,
        response=response,
        index=position,
        recorded_at=meta.recorded_at.isoformat() if isinstance(meta.recorded_at, dt.date) else meta.recorded_at,
        duration_ms=meta.duration_ms,
    )


PROBE = 1 << 20  # output read to decide whether a body is compressed: a bomb in a cassette is never inflated


def is_encoded(body: bytes, encoding: str) -> bool:
    """Whether `body` is valid `encoding`, reading at most about PROBE bytes of output."""
    try:
        if encoding in ("gzip", "x-gzip", "deflate"):
            return any(_zlib_stream_ok(body, wbits) for wbits in ((31,) if "gzip" in encoding else (15, -15)))
        if encoding == "br":
            import brotli

            inflater, produced = brotli.Decompressor(), 0
            for at in range(0, len(body), 4096):
                produced += len(inflater.process(body[at : at + 4096]))
                if produced > PROBE:
                    return True
            return bool(inflater.is_finished())
        if encoding == "zstd":
            import zstandard

            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
                reader.read(PROBE)
            return True
    except Exception:  # each library raises its own error type for bytes that are not its format
        return False
    return False


def _zlib_stream_ok(body: bytes, wbits: int) -> bool:
    inflater = zlib.decompressobj(wbits)
    try:
        inflater.decompress(body, PROBE)
    except zlib.error:
        return False
    return bool(inflater.unconsumed_tail) or inflater.eof


def _fast_headers(headers: Any) -> Headers:
    if not headers:
        return ()
    if not isinstance(headers, dict):
        raise Malformed
    out: list[tuple[str, str]] = []
    for name, values in headers.items():
        if not isinstance(name, str):
            raise Malformed
        if isinstance(values, list):
            for v in values:
                if not isinstance(v, str | int | float):
                    raise Malformed
                out.append((name, v if isinstance(v, str) else str(v)))
        elif isinstance(values, str | int | float):
            out.append((name, str(values)))
        else:
            raise Malformed
    return tuple(out)


def _fast_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes):
        return body
    if isinstance(body, dict):
        if "base64_string" in body:
            return base64.b64decode(body["base64_string"])
        return _fast_body(body.get("string"))
    raise Malformed


def _fast_text(value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise Malformed  # str() of a list or a mapping is no reason phrase
    return value if isinstance(value, str) else str(value)


def _fast_chunks(chunks: Any) -> tuple[Chunk, ...]:
    """`[[size, ms], ...]` of plain numbers (bool, strings and infinities go to the schema for their message)."""
    if not chunks:
        return ()
    out = []
    for pair in chunks:
        if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) is int and type(pair[1]) in (int, float)):
            raise Malformed
        out.append(Chunk(pair[0], float(pair[1])))
    return tuple(out)


def _fast_wire(headers: Headers, body: bytes, wire: Any) -> tuple[Headers, bytes]:
    if wire is None:
        return headers, body
    from hudproxy.cassette.schema import WireBody

    return _apply_wire(headers, body, WireBody.model_validate(wire))


def interaction_from_dict(item: Any, position: int) -> Interaction:
    """The happy path of loading: plain dicts to Interaction without pydantic (10x faster on big files).

    Raises Malformed on anything unexpected, so the loader can fall back to the pydantic schema, which
    either accepts the item or names the exact problem.
    """
    try:
        req, resp = item["request"], item["response"]
        meta = item.get("hudproxy") or {}
        method, uri, status = req["method"], req["uri"], resp["status"]
        code, message = status["code"], status.get("message") or ""
        if not (isinstance(method, str) and isinstance(uri, str) and type(code) is int):
            raise Malformed
        req_headers, req_body = _fast_wire(
            _fast_headers(req.get("headers")), _fast_body(req.get("body")), meta.get("request_wire")
        )
        resp_headers, resp_body = _fast_wire(
            _fast_headers(resp.get("headers")), _fast_body(resp.get("body")), meta.get("wire")
        )
        if not meta:
            resp_headers, resp_body = consistent(resp_headers, resp_body)
        return Interaction(
            request=Request(method.upper(), uri, req_headers, req_body),
            response=Response(code, _fast_text(message), resp_headers, resp_body, _fast_chunks(meta.get("chunks"))),
            index=position,
            recorded_at=meta.get("recorded_at"),
            duration_ms=meta.get("duration_ms"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Malformed from exc


# ---------------------------------------------------------------- model -> file


def headers_to_file(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def _readable(body: bytes, binary_as_base64: bool) -> Any:
    """Text as text; binary as bytes (YAML !!binary) or {"base64_string": ...} (JSON)."""
    text = as_text(body)
    if text is not None:
        return text
    if binary_as_base64:
        return {"base64_string": base64.b64encode(body).decode("ascii")}
    return body


def _split_wire(headers: Headers, body: bytes) -> tuple[Headers, bytes, dict[str, Any] | None]:
    """For a compressed text body: vcrpy-consistent headers + decoded text, and the wire facts to restore."""
    encoding = content_encoding(headers)
    if encoding == "identity" or not body:
        return headers, body, None
    decoded = decode_body(body, encoding)
    if decoded is None or as_text(decoded) is None:
        return headers, body, None
    wire_headers = {name: value for name, value in headers if name.lower() in ("content-encoding", "content-length")}
    readable_headers = without_headers(headers, ["content-encoding"])
    if any(name.lower() == "content-length" for name, _ in headers):
        readable_headers = replace_header(readable_headers, "Content-Length", str(len(decoded)))
    encoding_at = next(i for i, (name, _) in enumerate(headers) if name.lower() == "content-encoding")
    wire = {
        "base64": base64.b64encode(body).decode("ascii"),
        "headers": wire_headers,
        "encoding_at": encoding_at,
    }
    return readable_headers, decoded, wire


def binary_parts(interaction: Interaction) -> list[str]:
    """Which bodies ("request", "response") are stored as binary: neither text nor compressed text."""
    req, resp = interaction.request, interaction.response
    found = []
    for name, headers, body in (("request", req.headers, req.body), ("response", resp.headers, resp.body)):
        _, stored, _ = _split_wire(headers, body)
        if stored and as_text(stored) is None:
            found.append(name)
    return found


def _body_field(body: bytes, binary_as_base64: bool) -> Any:
    readable = _readable(body, binary_as_base64)
    if isinstance(readable, dict):
        return readable
    return {"string": readable}


def interaction_to_file(interaction: Interaction, binary_as_base64: bool) -> dict[str, Any]:
    """A plain dict in vcrpy's shape, ready for YAML or JSON."""
    req, resp = interaction.request, interaction.response
    req_headers, req_body, req_wire = _split_wire(req.headers, req.body)
    resp_headers, resp_body, resp_wire = _split_wire(resp.headers, resp.body)
    request_body: Any = None
    if req_body:
        request_body = _readable(req_body, binary_as_base64)
    meta: dict[str, Any] = {"index": interaction.index}
    if interaction.recorded_at:
        meta["recorded_at"] = interaction.recorded_at
    if interaction.duration_ms is not None:
        meta["duration_ms"] = round(interaction.duration_ms, 3)
    if resp.chunks:
        meta["chunks"] = [[c.size, round(c.at_ms, 3)] for c in resp.chunks]
    if resp_wire:
        meta["wire"] = resp_wire
    if req_wire:
        meta["request_wire"] = req_wire
    return {
        "request": {
            "method": req.method,
            "uri": req.url,
            "body": request_body,
            "headers": headers_to_file(req_headers),
        },
        "response": {
            "status": {"code": resp.status, "message": resp.reason},
            "headers": headers_to_file(resp_headers),
            "body": _body_field(resp_body, binary_as_base64),
        },
        "hudproxy": meta,
    }


__all__ = ["Malformed", "interaction_from_file", "interaction_to_file"]


def __getattr__(name: str) -> Any:
    """`FileRequest` and `FileResponse`, still importable from here, loaded from the schema on first use."""
    if name in ("FileRequest", "FileResponse"):
        from hudproxy.cassette import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
