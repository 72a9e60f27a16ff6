"""Apply a ScrubPolicy to requests, responses and their parts.

A request and its response are scrubbed by one `Scrubber`, so every secret the request carried is also hidden
where the response repeats it (a `Location`, a pagination link, an upstream echoing the URL it was asked).
Only secret spans change: headers keep their shape (auth scheme, cookie names and attributes), URLs and form
bodies keep every other parameter byte for byte, JSON keeps its spacing and key order. A compressed body is
decoded, scrubbed and compressed again only when something changed, so untouched bodies stay byte-exact.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote_plus

from hudproxy.interaction.body import content_encoding, decode_body, encode_body
from hudproxy.interaction.headers import Headers, header_value, replace_header
from hudproxy.interaction.model import Chunk, Interaction, Request, Response
from hudproxy.scrub.jsondata import scrub_data, scrub_json_text
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.text import Scrubber, rule_of

FORM_TYPE = "application/x-www-form-urlencoded"
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})


def scrub_json(data: Any, policy: ScrubPolicy, scrubber: Scrubber | None = None) -> Any:
    """A copy of `data` with secret-named fields (at any depth) and secrets inside strings replaced; pass the
    `scrubber` of a call's arguments to its result so a secret the result repeats is hidden too."""
    if not policy.enabled:
        return data
    return scrub_data(data, scrubber or Scrubber(policy))


def scrub_query(pairs: list[tuple[str, str]], policy: ScrubPolicy) -> list[tuple[str, str]]:
    scrubber = Scrubber(policy)
    return [(k, scrubber.hide(v, rule_of(k)) if policy.is_secret_query(k) else scrubber.text(v)) for k, v in pairs]


# ---------------------------------------------------------------------------------------------- URL


# An OAuth authorization code is a bearer credential for a few minutes, but `code` alone names error codes and
# country codes too: it is judged secret when the same query or form carries one of OAuth's companion parameters
# (the redirect back to the client, or the token request exchanging it).
OAUTH_CODE = "code"
OAUTH_COMPANIONS = frozenset({"state", "redirect_uri", "code_verifier", "client_id", "session_state"})


def collect_query(query: str, scrubber: Scrubber) -> None:
    """Hide the values of secret-named parameters, so their echoes anywhere (the same URL included) are found."""
    secret = scrubber.policy.is_secret_form_field
    pairs = []
    for piece in query.split("&"):
        name, eq, value = piece.partition("=")
        if not eq:
            continue
        if "%" in piece or "+" in piece:
            name, value = unquote_plus(name), unquote_plus(value)
        pairs.append((name, value))
        if secret(name):
            scrubber.hide(value, rule_of(name))
    if scrubber.policy.enabled and any(name == OAUTH_CODE for name, _ in pairs) and _is_oauth(pairs):
        for name, value in pairs:
            if name == OAUTH_CODE and value:
                scrubber.hide(value, "oauthcode")


def _is_oauth(pairs: list[tuple[str, str]]) -> bool:
    return any(
        name in OAUTH_COMPANIONS or (name == "grant_type" and value == "authorization_code") for name, value in pairs
    )


def _scrub_url(url: str, scrubber: Scrubber) -> str:
    query = url.partition("?")[2].partition("#")[0]
    if query:
        collect_query(query, scrubber)
    return scrubber.text(url)


def scrub_url(url: str, policy: ScrubPolicy) -> str:
    """Secret query and fragment parameters, user:password credentials and token shapes in a URL."""
    return _scrub_url(url, Scrubber(policy)) if policy.enabled else url


# ---------------------------------------------------------------------------------------------- headers


def _secret_header_value(name: str, value: str, scrubber: Scrubber) -> str:
    """Keep the shape that helps a reader (auth scheme, cookie names and attributes), hide the secret."""
    lowered = name.lower()
    if lowered == "cookie":
        return ";".join(_cookie_pair(piece, scrubber) for piece in value.split(";"))
    if lowered == "set-cookie":
        first, sep, attributes = value.partition(";")
        return _cookie_pair(first, scrubber) + sep + attributes
    scheme, space, credential = value.partition(" ")
    if space and lowered in AUTH_HEADERS and scheme.isalpha():
        if scheme.lower() == "basic":
            scrubber.text(value)  # remembers the decoded user:password, so an echo of the password is found
        return f"{scheme} {scrubber.hide(credential.strip(), rule_of(name))}"
    return scrubber.hide(value, rule_of(name))


def _cookie_pair(piece: str, scrubber: Scrubber) -> str:
    name, eq, value = piece.partition("=")
    return f"{name}={scrubber.hide(value, 'cookie')}" if eq else piece


def _scrub_headers(headers: Headers, scrubber: Scrubber) -> Headers:
    """Secret-named headers first (their values are then found in the others: `Location`, `Link`, ...)."""
    policy = scrubber.policy
    hidden = {i: _secret_header_value(k, v, scrubber) for i, (k, v) in enumerate(headers) if policy.is_secret_header(k)}
    return tuple((k, hidden[i] if i in hidden else scrubber.text(v)) for i, (k, v) in enumerate(headers))


def scrub_header_value(name: str, value: str, policy: ScrubPolicy) -> str:
    scrubber = Scrubber(policy)
    return _secret_header_value(name, value, scrubber) if policy.is_secret_header(name) else scrubber.text(value)


def scrub_headers(headers: Headers, policy: ScrubPolicy) -> Headers:
    return _scrub_headers(headers, Scrubber(policy)) if policy.enabled else headers


# ---------------------------------------------------------------------------------------------- bodies


def _scrub_form(text: str, scrubber: Scrubber) -> str:
    """Secret fields' values replaced piece by piece; every other byte of the body kept."""
    policy = scrubber.policy
    pieces = text.split("&")
    collect_query(text, scrubber)
    out = []
    for piece in pieces:
        name, eq, value = piece.partition("=")
        plain = unquote_plus(name)
        if eq and policy.is_secret_form_field(plain):
            piece = f"{name}={quote(scrubber.hide(unquote_plus(value), rule_of(plain)), safe=':')}"
        out.append(piece)
    return scrubber.text("&".join(out))


def _scrub_text_body(decoded: bytes, content_type: str, scrubber: Scrubber) -> bytes:
    """JSON by its fields and strings, forms by their fields, anything else (SSE, NDJSON, HTML, text, even
    binary) scanned as text; bytes that are not UTF-8 are read as latin-1, which maps each byte to itself."""
    try:
        text, charset = decoded.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, charset = decoded.decode("latin-1"), "latin-1"
    lowered = content_type.lower()
    if FORM_TYPE in lowered:
        out = _scrub_form(text, scrubber)
    elif "multipart/form-data" in lowered:
        out = scrubber.text(MULTIPART_FIELD.sub(lambda m: _multipart_field(m, scrubber), text))
    else:
        out = None
        if ("json" in lowered and "ndjson" not in lowered) or text.lstrip()[:1] in ("{", "["):
            out = scrub_json_text(text, scrubber)
        if out is None:
            out = scrubber.text(text)
    return decoded if out == text else out.encode(charset)


# a part's name, its other header lines, the blank line, then its value (up to the line break before the boundary)
MULTIPART_FIELD = re.compile(
    r"(?P<pre>Content-Disposition:[^\r\n]*\bname=\"(?P<name>[^\"]+)\"[^\r\n]*(?:\r?\n[^\r\n]+)*\r?\n\r?\n)"
    r"(?P<value>[^\r\n]*)",
    re.IGNORECASE,
)


def _multipart_field(m: re.Match[str], scrubber: Scrubber) -> str:
    name = m.group("name")
    if not scrubber.policy.is_secret_form_field(name):
        return m.group(0)
    return m.group("pre") + scrubber.hide(m.group("value"), rule_of(name))


def scrub_decoded_body(decoded: bytes, content_type: str, scrubber: Scrubber) -> bytes:
    """A decoded body scrubbed by its type (matching uses it for bodies it compares as bytes)."""
    return _scrub_text_body(decoded, content_type, scrubber) if scrubber.policy.enabled else decoded


def _scrub_body(body: bytes, headers: Headers, scrubber: Scrubber) -> bytes:
    if not body:
        return body
    encoding = content_encoding(headers)
    decoded = decode_body(body, encoding)
    if decoded is None:
        return body
    cleaned = _scrub_text_body(decoded, header_value(headers, "content-type") or "", scrubber)
    if cleaned is decoded:
        return body
    return encode_body(cleaned, encoding)


def scrub_body_with(body: bytes, headers: Headers, scrubber: Scrubber) -> bytes:
    """A body scrubbed by `scrubber` (which may know the secrets of the request it answers)."""
    return _scrub_body(body, headers, scrubber) if scrubber.policy.enabled else body


def scrub_body(body: bytes, headers: Headers, policy: ScrubPolicy) -> bytes:
    """Scrub a body on its own (no request to echo from)."""
    return _scrub_body(body, headers, Scrubber(policy)) if policy.enabled else body


def _fix_length(headers: Headers, old: bytes, new: bytes) -> Headers:
    if old == new or header_value(headers, "content-length") is None:
        return headers
    return replace_header(headers, "Content-Length", str(len(new)))


def _fix_chunks(chunks: tuple[Chunk, ...], old: bytes, new: bytes) -> tuple[Chunk, ...]:
    """Keep a stream's timing: the last piece absorbs the size change (placeholders differ in length)."""
    if not chunks or len(old) == len(new):
        return chunks
    last = chunks[-1]
    size = last.size + len(new) - len(old)
    if size <= 0 or sum(c.size for c in chunks) != len(old):
        return ()
    return (*chunks[:-1], Chunk(size, last.at_ms))


# ---------------------------------------------------------------------------------------------- exchanges


def scrub_request_with(request: Request, scrubber: Scrubber) -> Request:
    """The request scrubbed by `scrubber`, which then knows every secret it carried (for its response)."""
    headers = _scrub_headers(request.headers, scrubber)
    url = _scrub_url(request.url, scrubber)
    body = _scrub_body(request.body, request.headers, scrubber)
    return replace(request, url=url, headers=_fix_length(headers, request.body, body), body=body)


def scrub_response_with(response: Response, scrubber: Scrubber) -> Response:
    headers = _scrub_headers(response.headers, scrubber)
    body = _scrub_body(response.body, response.headers, scrubber)
    chunks = _fix_chunks(response.chunks, response.body, body)
    return replace(response, headers=_fix_length(headers, response.body, body), body=body, chunks=chunks)


def scrub_request(request: Request, policy: ScrubPolicy) -> Request:
    return scrub_request_with(request, Scrubber(policy)) if policy.enabled else request


def scrub_response(response: Response, policy: ScrubPolicy) -> Response:
    return scrub_response_with(response, Scrubber(policy)) if policy.enabled else response


def scrub_interaction(interaction: Interaction, policy: ScrubPolicy) -> Interaction:
    """Request, then response with the request's secrets hidden wherever the response repeats them."""
    if not policy.enabled:
        return interaction
    scrubber = Scrubber(policy)
    request = scrub_request_with(interaction.request, scrubber)
    return replace(interaction, request=request, response=scrub_response_with(interaction.response, scrubber))
