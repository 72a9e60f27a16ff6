"""JSON views of recorded bodies (decompressed first), and the small value tests the learner needs."""

from __future__ import annotations

import re
from typing import Any

import orjson

from hudproxy.interaction.body import decode_body
from hudproxy.interaction.headers import Headers

NO_JSON = object()  # a body that is not JSON (empty, binary, text): distinct from JSON null
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def json_body(headers: Headers, body: bytes) -> Any:
    """The body as JSON data, or NO_JSON. Only objects and arrays count: scalars are never resources."""
    if not body:
        return NO_JSON
    for name, value in headers:
        if name.lower() == "content-encoding":
            encoding = value.strip().lower()
            if encoding not in ("", "identity"):
                decoded = decode_body(body, encoding)
                if decoded is None:
                    return NO_JSON
                body = decoded
            break
    first = body.lstrip()[:1]
    if first not in (b"{", b"["):
        return NO_JSON
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NO_JSON


def as_text(value: Any) -> str | None:
    """How a field value appears in a path or query: `7`, `A1`, `true`; None for objects, arrays and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def is_timestamp(value: Any) -> bool:
    return isinstance(value, str) and TIMESTAMP.match(value) is not None


def json_type(value: Any) -> str:
    """JSON type names, with int and float both `number` (a client may send 12 for 12.0)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)
