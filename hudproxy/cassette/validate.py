"""The slow, precise path of loading: pydantic names the first problem of a malformed cassette, located to a line.

Only reached when the fast path (plain dicts) met something unexpected, so its cost never touches good files.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hudproxy.cassette.convert import interaction_from_file
from hudproxy.cassette.locate import line_of
from hudproxy.cassette.mcp_section import ordered
from hudproxy.cassette.model import FORMAT_VERSION
from hudproxy.cassette.schema import CassetteFile
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction


def validated(path: Path, text: bytes, data: dict[str, Any]) -> tuple[list[Interaction], dict[str, Any]]:
    """The slow, precise path: pydantic names the first problem, located to a line."""
    try:
        model = CassetteFile.model_validate(data)
    except ValidationError as exc:
        raise CassetteError(validation_message(path, text, exc)) from None
    try:
        return _from_model(model)
    except (binascii.Error, ValueError) as exc:
        loc = _first_bad_base64(data)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "a body"
        raise CassetteError(f"{path}:{line_of(text, loc, path)}: {dotted}: not valid base64 ({exc}).") from None


def _first_bad_base64(data: dict[str, Any]) -> tuple[Any, ...]:
    """Locate the first body whose base64 does not decode (only called on that error path)."""
    for n, item in enumerate(data.get("interactions") or []):
        for part in ("request", "response"):
            body = (item.get(part) or {}).get("body")
            if isinstance(body, dict) and "base64_string" in body and not _decodes(body["base64_string"]):
                return ("interactions", n, part, "body", "base64_string")
        meta = item.get("hudproxy") or {}
        for key in ("wire", "request_wire"):
            wire = meta.get(key)
            if isinstance(wire, dict) and not _decodes(wire.get("base64", "")):
                return ("interactions", n, "hudproxy", key, "base64")
    return ()


def _decodes(value: Any) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    return True


def _from_model(model: CassetteFile) -> tuple[list[Interaction], dict[str, Any]]:
    interactions = (
        ordered([item.model_dump() for item in model.interactions], [item.model_dump() for item in model.mcp])
        if model.mcp
        else [interaction_from_file(item, i) for i, item in enumerate(model.interactions)]
    )
    meta = model.hudproxy.model_dump(exclude_none=True) if model.hudproxy else {"format": FORMAT_VERSION}
    return interactions, meta


def validation_message(path: Path, text: bytes, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    line = line_of(text, loc, path)
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{path}:{line}: {dotted}: {first['msg'].lower()}{more}."


# ---------------------------------------------------------------- save
