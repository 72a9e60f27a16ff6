"""Every interaction the loader builds is checked here, so replay never meets a value it cannot send.

The schema (pydantic, or the fast path) says a status is an int and a header a string; the wire says more: a status
is 100-599, a header name is an HTTP token, a value holds no CR/LF, a Content-Length agrees with the body, times are
finite numbers. A cassette breaking one of these is refused at load (one line naming the file, the line and the fix)
instead of failing at replay as a dropped connection or a 500.

Two facts are normalised rather than refused, as a user editing or importing a cassette expects:
- header text outside latin-1 (vcrpy with httpx decodes header bytes as UTF-8) is sent as its UTF-8 bytes, the
  same convention as the HAR importer;
- a Content-Length that disagrees with the body (a body edited by hand) is set to the body's length.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from hudproxy.interaction.headers import Headers, replace_header
from hudproxy.interaction.model import Chunk, Interaction, Request, Response


class Malformed(Exception):
    """The fast path met a shape it does not expect; the caller re-validates with pydantic for the message."""


Loc = tuple[Any, ...]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: header names and methods
_NAMES = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*")  # tokens, one a line
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what no header value may hold (tab is fine)
_BODILESS = frozenset({204, 304})


class BadValue(Exception):
    """A value the wire cannot carry; `loc` is its key path in the file, from the item (or the section) down."""

    def __init__(self, loc: Loc, problem: str) -> None:
        super().__init__(problem)
        self.loc = loc
        self.problem = problem

    def within(self, *prefix: Any) -> BadValue:
        return BadValue((*prefix, *self.loc), self.problem)


def wire_text(text: str) -> str:
    """hudproxy holds header bytes as latin-1 text; text beyond latin-1 goes out as its UTF-8 bytes."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("latin-1")


def checked_headers(headers: Headers, loc: Loc) -> Headers:
    """Names must be tokens, values free of control characters; returns the headers as they go on the wire."""
    if not headers:
        return headers
    names = "\n".join([name for name, _ in headers])
    values = "\t".join([value for _, value in headers])
    one_a_line = names.count("\n") == len(headers) - 1  # else a name holds a line feed itself
    if one_a_line and _NAMES.fullmatch(names) and not _CONTROL.search(values):
        return headers if values.isascii() else tuple((name, wire_text(value)) for name, value in headers)
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise BadValue(
                (*loc, name),
                f"{name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only); rename or delete it",
            )
        if _CONTROL.search(value):
            raise BadValue(
                (*loc, name),
                f"the value {_clip(value)} holds a control character (CR, LF, ...) no HTTP header may carry; remove it",
            )
    raise AssertionError("unreachable: a header failed the joined check but none failed alone")


def _clip(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def checked_url(url: str, loc: Loc) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check (out of range, not a number)
    except ValueError as exc:
        raise BadValue(loc, f"{_clip(url)} is not a valid URL ({exc}); fix it") from None


def checked_status(status: Any, loc: Loc) -> None:
    if type(status) is not int or not 100 <= status <= 599:
        raise BadValue(loc, f"status {status!r} is not an HTTP status; use a number from 100 to 599")


def checked_reason(reason: str, loc: Loc) -> str:
    if _CONTROL.search(reason):
        raise BadValue(loc, f"the reason {_clip(reason)} holds a control character (CR, LF, ...); remove it")
    return wire_text(reason)


def checked_chunks(chunks: tuple[Chunk, ...], loc: Loc) -> None:
    for n, chunk in enumerate(chunks):
        if chunk.size < 0 or not (math.isfinite(chunk.at_ms) and chunk.at_ms >= 0):
            raise BadValue(
                (*loc, n),
                f"[{chunk.size}, {chunk.at_ms}] is not a chunk; use [size in bytes >= 0, milliseconds >= 0]",
            )


def checked_duration(duration: Any, loc: Loc) -> float | None:
    if duration is None:
        return None
    if type(duration) not in (int, float) or not math.isfinite(duration) or duration < 0:
        raise BadValue(loc, f"{duration!r} is not a duration; use milliseconds as a number >= 0, or delete it")
    return float(duration)


def checked_time(recorded_at: Any, loc: Loc) -> str | None:
    """An ISO 8601 time (YAML may have read an unquoted one as a datetime already)."""
    if recorded_at is None:
        return None
    if isinstance(recorded_at, dt.date):
        return recorded_at.isoformat()
    if isinstance(recorded_at, str):
        try:
            dt.datetime.fromisoformat(recorded_at)
            return recorded_at
        except ValueError:
            pass
    raise BadValue(loc, f"{_clip(str(recorded_at))} is not a time; use ISO 8601 like 2024-05-01T12:00:00.000Z")


def checked_method(method: str, loc: Loc) -> None:
    if not _TOKEN.fullmatch(method):
        raise BadValue(loc, f"{_clip(method)} is not an HTTP method; use GET, POST, ...")


def _agreeing_length(request: Request, response: Response, headers: Headers, loc: Loc) -> Headers:
    """Content-Length must be a number, and agree with the body unless the answer has none by definition."""
    lengths = [value for name, value in headers if name.lower() == "content-length"]
    if not lengths:
        return headers
    for value in lengths:
        if not value.strip().isdigit() or not value.strip().isascii():
            raise BadValue((*loc, "Content-Length"), f"Content-Length {value!r} is not a number; fix or delete it")
    if request.method == "HEAD" or response.status in _BODILESS:  # their Content-Length describes another answer
        return headers
    actual = str(len(response.body))
    if any(value.strip() != actual for value in lengths):
        return replace_header(headers, "Content-Length", actual)
    return headers


def checked(interaction: Interaction, http_locations: bool = True) -> Interaction:
    """The interaction as replay will send it, or BadValue naming the first value it cannot send.

    Returns the same object when nothing needed normalising (the common case costs no copy).
    `http_locations`: name vcrpy's keys (request.uri, response.status.code); MCP exchanges have none of those.
    """
    request, response = interaction.request, interaction.response
    checked_method(request.method, ("request", "method"))
    checked_url(request.url, ("request", "uri") if http_locations else ("method",))
    checked_status(response.status, ("response", "status", "code"))
    if response.body and response.status in _BODILESS and request.method != "HEAD":
        raise BadValue(
            ("response", "body"), f"a {response.status} answer has no body; delete the body or change the status"
        )
    request_headers = checked_headers(request.headers, ("request", "headers"))
    response_headers = checked_headers(response.headers, ("response", "headers"))
    response_headers = _agreeing_length(request, response, response_headers, ("response", "headers"))
    reason = checked_reason(response.reason, ("response", "status", "message"))
    checked_chunks(response.chunks, ("hudproxy", "chunks"))
    duration = checked_duration(interaction.duration_ms, ("hudproxy", "duration_ms"))
    recorded_at = checked_time(interaction.recorded_at, ("hudproxy", "recorded_at"))
    if request_headers is not request.headers:
        request = replace(request, headers=request_headers)
    if response_headers is not response.headers or reason is not response.reason:
        response = replace(response, headers=response_headers, reason=reason)
    if (
        request is interaction.request
        and response is interaction.response
        and duration == interaction.duration_ms
        and type(duration) is type(interaction.duration_ms)
        and recorded_at is interaction.recorded_at
    ):
        return interaction
    return replace(interaction, request=request, response=response, duration_ms=duration, recorded_at=recorded_at)


def unsendable(interaction: Interaction) -> str | None:
    """`where: problem` for the first value the loader would refuse in an interaction about to be written (by the
    recorder or an import), or None: a cassette holding it would never load again."""
    from hudproxy.interaction.mcp import is_mcp

    try:
        checked(interaction, http_locations=not is_mcp(interaction))
    except BadValue as exc:
        return f"{'.'.join(str(part) for part in exc.loc)}: {exc.problem}"
    return None
