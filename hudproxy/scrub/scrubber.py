"""Apply a ScrubPolicy to requests, responses and their parts.

Bodies are scrubbed as data (JSON fields, form fields); a compressed body is decoded, scrubbed and compressed
again only when something changed, so untouched bodies stay byte-exact.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from hudproxy.interaction.body import content_encoding, decode_body, encode_body, parse_json
from hudproxy.interaction.headers import Headers, header_value, replace_header
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.scrub.policy import ScrubPolicy

FORM_TYPE = "application/x-www-form-urlencoded"


def scrub_json(data: Any, policy: ScrubPolicy) -> Any:
    """A copy of `data` with the values of secret-named fields replaced, at any depth."""
    if isinstance(data, dict):
        return {
            key: _hide(value, policy) if policy.is_secret_field(str(key)) else scrub_json(value, policy)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [scrub_json(item, policy) for item in data]
    return data


def _hide(value: Any, policy: ScrubPolicy) -> Any:
    """Every string or number under a secret name (a list of keys, a nested token object) is replaced;
    booleans and nulls say nothing secret and stay, so the shape remains readable."""
    if isinstance(value, dict):
        return {key: _hide(item, policy) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide(item, policy) for item in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return policy.placeholder
    return value


def scrub_query(pairs: list[tuple[str, str]], policy: ScrubPolicy) -> list[tuple[str, str]]:
    return [(k, policy.placeholder if policy.is_secret_query(k) else v) for k, v in pairs]


def scrub_url(url: str, policy: ScrubPolicy) -> str:
    """Scrub secret query parameters and user:password credentials in a URL."""
    if not policy.enabled:
        return url
    head, _, query_part = url.partition("?")
    if "@" not in head and not any(
        policy.is_secret_query(unquote_plus(piece.partition("=")[0])) for piece in query_part.split("&") if piece
    ):
        return url  # the common case, decided without a full parse
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{policy.placeholder}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(policy.is_secret_query(k) for k, _ in pairs):
            query = urlencode(scrub_query(pairs, policy))
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _scrub_cookie_pairs(value: str, placeholder: str, separator: str = ";") -> str:
    out = []
    for piece in value.split(separator):
        name, eq, _ = piece.partition("=")
        out.append(f"{name}={placeholder}" if eq else piece)
    return separator.join(out)


def scrub_header_value(name: str, value: str, policy: ScrubPolicy) -> str:
    """Keep the shape that helps a reader (auth scheme, cookie names and attributes), hide the secret."""
    lowered = name.lower()
    if lowered == "cookie":
        return _scrub_cookie_pairs(value, policy.placeholder)
    if lowered == "set-cookie":
        first, sep, attributes = value.partition(";")
        cookie_name = first.partition("=")[0]
        return f"{cookie_name}={policy.placeholder}{sep}{attributes}"
    scheme, space, _ = value.partition(" ")
    if space and lowered in ("authorization", "proxy-authorization") and scheme.isalpha():
        return f"{scheme} {policy.placeholder}"
    return policy.placeholder


def scrub_headers(headers: Headers, policy: ScrubPolicy) -> Headers:
    return tuple((k, scrub_header_value(k, v, policy) if policy.is_secret_header(k) else v) for k, v in headers)


def scrub_body(body: bytes, headers: Headers, policy: ScrubPolicy) -> bytes:
    """Scrub secret fields of a JSON or form body; other bodies are returned unchanged."""
    if not body or not policy.enabled:
        return body
    encoding = content_encoding(headers)
    decoded = decode_body(body, encoding)
    if decoded is None:
        return body
    content_type = header_value(headers, "content-type") or ""
    cleaned = _scrub_decoded(decoded, content_type, policy)
    if cleaned == decoded:
        return body
    return encode_body(cleaned, encoding)


def _scrub_decoded(decoded: bytes, content_type: str, policy: ScrubPolicy) -> bytes:
    is_json, data = parse_json(decoded, content_type)
    if is_json:
        cleaned = scrub_json(data, policy)
        if cleaned == data:
            return decoded
        return json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    if FORM_TYPE in content_type.lower():
        pairs = parse_qsl(decoded.decode("latin-1"), keep_blank_values=True)
        if any(policy.is_secret_field(k) or policy.is_secret_query(k) for k, _ in pairs):
            cleaned_pairs = [
                (k, policy.placeholder if policy.is_secret_field(k) or policy.is_secret_query(k) else v)
                for k, v in pairs
            ]
            return urlencode(cleaned_pairs).encode("latin-1")
    return decoded


def _fix_length(headers: Headers, old: bytes, new: bytes) -> Headers:
    if old == new or header_value(headers, "content-length") is None:
        return headers
    return replace_header(headers, "Content-Length", str(len(new)))


def scrub_request(request: Request, policy: ScrubPolicy) -> Request:
    if not policy.enabled:
        return request
    body = scrub_body(request.body, request.headers, policy)
    headers = _fix_length(scrub_headers(request.headers, policy), request.body, body)
    return replace(request, url=scrub_url(request.url, policy), headers=headers, body=body)


def scrub_response(response: Response, policy: ScrubPolicy) -> Response:
    if not policy.enabled:
        return response
    body = scrub_body(response.body, response.headers, policy)
    headers = _fix_length(scrub_headers(response.headers, policy), response.body, body)
    chunks = response.chunks if len(body) == len(response.body) else ()
    return replace(response, headers=headers, body=body, chunks=chunks)


def scrub_interaction(interaction: Interaction, policy: ScrubPolicy) -> Interaction:
    return replace(
        interaction,
        request=scrub_request(interaction.request, policy),
        response=scrub_response(interaction.response, policy),
    )
