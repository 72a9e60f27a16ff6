"""HAR 1.2 in and out: what a browser's DevTools saves ("Save all as HAR"), and what HAR viewers read.

HAR holds bodies *decoded* (gzip already undone, text as text, binary as base64), while hudproxy keeps wire
bytes. So on import a body whose headers still say `Content-Encoding: gzip` loses that header (the stored
body is what the text says), and on export the exact compressed bytes ride along in `_hudproxy.wire`, so a
hudproxy → HAR → hudproxy round trip is byte-exact. MCP exchanges go as JSON-RPC POSTs (`har_mcp`).
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from hudproxy import __version__
from hudproxy.cassette.files import atomic_write
from hudproxy.cassette.locate import line_of
from hudproxy.cassette.model import Cassette
from hudproxy.errors import CassetteError
from hudproxy.interaction.body import as_text, content_encoding, decode_body
from hudproxy.interaction.headers import Headers, header_value, replace_header, without_headers
from hudproxy.interaction.mcp import is_mcp
from hudproxy.interaction.model import Chunk, Interaction, Request, Response
from hudproxy.interchange.har_mcp import mcp_entry, mcp_interaction
from hudproxy.interchange.har_schema import HarContent, HarEntry, HarFile, HarPostData

EPOCH = "1970-01-01T00:00:00.000Z"  # startedDateTime is required; an interaction may not know its time
NO_BODY_STATUSES = frozenset({204, 304})

# ---------------------------------------------------------------- read


def read(path: Path) -> Cassette:
    """Every entry that got a response (status 0 means the browser never got one) with an http(s) URL."""
    text = path.read_bytes()
    har = _validated(path, text, _parsed(path, text))
    interactions = []
    for position, entry in enumerate(har.log.entries):
        if entry.hudproxy is not None and entry.hudproxy.mcp is not None:
            where = f"{path}: log.entries[{position}]"
            interactions.append(mcp_interaction(entry.hudproxy.mcp, len(interactions), where))
        elif entry.response.status > 0 and entry.request.url.startswith(("http://", "https://")):
            interactions.append(_interaction(path, position, entry, len(interactions)))
    return Cassette(interactions=interactions, meta={})


def _parsed(path: Path, text: bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CassetteError(f"{path}:{exc.lineno}: not a HAR file: not valid JSON: {exc.msg}.") from None
    except UnicodeDecodeError as exc:
        raise CassetteError(f"{path}: not a HAR file: not UTF-8 text ({exc.reason}).") from None


def _validated(path: Path, text: bytes, data: Any) -> HarFile:
    if not isinstance(data, dict) or "log" not in data:
        raise CassetteError(f"{path}: not a HAR file: expected a JSON object with a `log` key.")
    try:
        return HarFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        line = line_of(text, loc, path)
        raise CassetteError(f"{path}:{line}: malformed HAR: {dotted}: {first['msg'].lower()}.") from None


def _interaction(path: Path, position: int, entry: HarEntry, index: int) -> Interaction:
    where = f"{path}: log.entries[{position}]"
    req = entry.request
    headers = _headers(req.headers)
    return Interaction(
        request=Request(req.method.upper(), req.url, headers, _post_body(req.postData, headers, where, req.bodySize)),
        response=_response(entry, where),
        index=index,
        recorded_at=entry.startedDateTime,
        duration_ms=entry.time if entry.time is not None and entry.time >= 0 else None,
    )


def _response(entry: HarEntry, where: str) -> Response:
    """The wire bytes when hudproxy exported them; else the decoded body with headers that agree with it."""
    resp, extension = entry.response, entry.hudproxy
    headers = _headers(resp.headers)
    body = _content_body(resp.content, headers, f"{where}.response.content")
    if extension is not None and extension.wire is not None:
        body = _b64(extension.wire, f"{where}._hudproxy.wire")
    else:
        headers = _decoded_headers(headers, body)
    if entry.request.method.upper() != "HEAD" and resp.status not in NO_BODY_STATUSES:
        headers = _consistent_length(headers, body)
    chunks = tuple(Chunk(int(s), float(at)) for s, at in (extension.chunks or ())) if extension else ()
    return Response(resp.status, resp.statusText, headers, body, chunks)


def _headers(pairs: list[Any]) -> Headers:
    """HTTP/2 pseudo-headers (`:authority`) are not headers a server sends or a client could replay."""
    return tuple((_latin1(p.name), _latin1(p.value or "")) for p in pairs if not p.name.startswith(":"))


def _latin1(text: str) -> str:
    """hudproxy holds header bytes as latin-1 text; a HAR may hold them decoded as UTF-8 (non-ASCII file names)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")
    return text


def _b64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CassetteError(f"{where}: `encoding: base64` but the text is not valid base64.") from None


def _content_body(content: HarContent, headers: Headers, where: str) -> bytes:
    if content.text is None:
        return b""
    if (content.encoding or "").lower() == "base64":
        return _b64(content.text, where)
    sizes = {content.size, (content.size or 0) + (content.compression or 0)}
    return _text_bytes(content.text, _charset(headers), sizes)


def _post_body(post: HarPostData | None, headers: Headers, where: str, size: int | None = None) -> bytes:
    if post is None:
        return b""
    if post.text is None:
        return urlencode([(p.name, p.value or "") for p in post.params]).encode("ascii")
    if (post.encoding or "").lower() == "base64":
        return _b64(post.text, f"{where}.request.postData")
    return _text_bytes(post.text, _charset(headers), {size})


def _text_bytes(text: str, charset: str, sizes: set[int | None]) -> bytes:
    """The body a HAR holds as text without `encoding`: in the declared charset, unless its length disagrees
    with the size the HAR declares and another reading agrees. mitmproxy's `hardump` writes a binary body that
    does not look binary in its first 100 bytes as latin-1 text (one char per byte; as UTF-8 it would grow by
    half), and a body invalid in its charset as surrogate-escaped UTF-8."""
    body = _encode_text(text, charset)
    sizes = {s for s in sizes if s is not None and s >= 0}
    if not sizes or len(body) in sizes:
        return body
    for codec, errors in (("latin-1", "strict"), ("utf-8", "surrogateescape")):
        try:
            candidate = text.encode(codec, errors)
        except UnicodeEncodeError:
            continue
        if len(candidate) in sizes:
            return candidate
    return body


def _decoded_headers(headers: Headers, body: bytes) -> Headers:
    """HAR text is already decoded; drop a Content-Encoding the body no longer has."""
    encoding = content_encoding(headers)
    if encoding == "identity" or not body or decode_body(body, encoding) is not None:
        return headers
    return without_headers(headers, ["content-encoding"])


def _consistent_length(headers: Headers, body: bytes) -> Headers:
    """A replayed Content-Length must be the body's, or clients hang or truncate (HARs may omit bodies)."""
    declared = header_value(headers, "content-length")
    if declared is None or declared.strip() == str(len(body)):
        return headers
    return replace_header(headers, "Content-Length", str(len(body)))


def _charset(headers: Headers) -> str:
    content_type = header_value(headers, "content-type") or ""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip("\"' "):
            return value.strip("\"' ").lower()
    return "utf-8"


def _encode_text(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset)
    except (LookupError, UnicodeEncodeError):
        return _utf8(text)


def _utf8(text: str) -> bytes:
    """UTF-8, with the bytes a tool escaped as lone surrogates (mitmproxy) put back; any other lone one replaced."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


# ---------------------------------------------------------------- write


def write(cassette: Cassette, path: Path) -> None:
    try:
        atomic_write(path, dumps(cassette))
    except OSError as exc:
        raise CassetteError(f"{path}: cannot write: {exc.strerror or exc}.") from None


def dumps(cassette: Cassette) -> bytes:
    return (json.dumps(to_har(cassette), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def to_har(cassette: Cassette) -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "hudproxy", "version": __version__},
            "pages": [],
            "entries": [_entry(i) for i in cassette.interactions],
        }
    }


def _entry(interaction: Interaction) -> dict[str, Any]:
    if is_mcp(interaction):
        return mcp_entry(interaction, interaction.recorded_at or EPOCH)
    req, resp = interaction.request, interaction.response
    duration = interaction.duration_ms if interaction.duration_ms is not None else 0
    content, extension = _har_content(resp)
    if resp.chunks:
        extension["chunks"] = [[c.size, c.at_ms] for c in resp.chunks]
    entry: dict[str, Any] = {
        "startedDateTime": interaction.recorded_at or EPOCH,
        "time": duration,
        "request": _har_request(req),
        "response": {
            "status": resp.status,
            "statusText": resp.reason,
            "httpVersion": "HTTP/1.1",
            "cookies": _cookies(resp.headers, "set-cookie"),
            "headers": _pairs(resp.headers),
            "content": content,
            "redirectURL": header_value(resp.headers, "location") or "",
            "headersSize": -1,
            "bodySize": len(resp.body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
    }
    if extension:
        entry["_hudproxy"] = extension
    return entry


def _har_request(req: Request) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": req.method,
        "url": req.url,
        "httpVersion": "HTTP/1.1",
        "cookies": _cookies(req.headers, "cookie"),
        "headers": _pairs(req.headers),
        "queryString": [{"name": k, "value": v} for k, v in req.query],
        "headersSize": -1,
        "bodySize": len(req.body),
    }
    if req.body:
        out["postData"] = {"mimeType": header_value(req.headers, "content-type") or "", **_text(req.body, req.headers)}
    return out


def _har_content(resp: Response) -> tuple[dict[str, Any], dict[str, Any]]:
    """HAR `content` holds the decoded body; the wire bytes go to the extension when they differ."""
    encoding = content_encoding(resp.headers)
    decoded = resp.body if encoding == "identity" else decode_body(resp.body, encoding)
    extension: dict[str, Any] = {}
    if decoded is None:
        decoded = resp.body  # an encoding hudproxy cannot undo: export the bytes as they are
    elif decoded != resp.body:
        extension["wire"] = base64.b64encode(resp.body).decode("ascii")
    content = {"size": len(decoded), "mimeType": header_value(resp.headers, "content-type") or ""}
    if decoded != resp.body:
        content["compression"] = len(decoded) - len(resp.body)
    return {**content, **_text(decoded, resp.headers)}, extension


def _text(body: bytes, headers: Headers) -> dict[str, str]:
    """Text when it reads back to the same bytes under the declared charset; else base64."""
    charset = _charset(headers)
    text = as_text(body) if charset == "utf-8" else _decode(body, charset)
    if text is not None and _encode_text(text, charset) == body:
        return {"text": text}
    return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _decode(body: bytes, charset: str) -> str | None:
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None
    return None if "\x00" in text else text


def _pairs(headers: Headers) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers]


def _cookies(headers: Headers, name: str) -> list[dict[str, str]]:
    """Cookie names and values for HAR viewers; Set-Cookie attributes stay in the header."""
    out = []
    for key, value in headers:
        if key.lower() == name:
            pieces = value.split(";") if name == "cookie" else value.split(";")[:1]
            out.extend({"name": k.strip(), "value": v.strip()} for k, _, v in (p.partition("=") for p in pieces))
    return out
