"""The slow, precise path of loading: pydantic names the first problem of a malformed cassette, located to a line.

Only reached when the fast path (plain dicts) met something unexpected, so its cost never touches good files.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hudproxy.cassette.convert import Malformed, interaction_from_file
from hudproxy.cassette.locate import line_of
from hudproxy.cassette.mcp_section import mcp_from_dict, recorded_order
from hudproxy.cassette.model import FORMAT_VERSION
from hudproxy.cassette.values import BadValue, checked
from hudproxy.errors import CassetteError, HudproxyError
from hudproxy.interaction.model import Interaction

if TYPE_CHECKING:
    from hudproxy.cassette.schema import CassetteFile, FileInteraction, FileMcpExchange


def validated(path: Path, text: bytes, data: dict[str, Any]) -> tuple[list[Interaction], dict[str, Any]]:
    """The slow, precise path: pydantic names the first problem, located to a line."""
    from hudproxy.cassette.schema import CassetteFile  # its models are built only when a file needs checking

    try:
        model = CassetteFile.model_validate(data)
    except ValidationError as exc:
        raise CassetteError(validation_message(path, text, exc)) from None
    try:
        return _from_model(model)
    except BadValue as exc:
        raise CassetteError(bad_value_message(path, text, exc)) from None
    except (binascii.Error, ValueError) as exc:
        loc = _first_bad_base64(data)
        where = dotted(loc) or "a body"
        raise CassetteError(f"{path}:{line_of(text, loc, path)}: {where}: not valid base64 ({exc}).") from None


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
    http = [
        (item.hudproxy.index if item.hudproxy else None, _checked_http(item, n))
        for n, item in enumerate(model.interactions)
    ]
    mcp = [
        (item.hudproxy.index if item.hudproxy else None, _checked_mcp(item, len(http) + n, n))
        for n, item in enumerate(model.mcp)
    ]
    meta = model.hudproxy.model_dump(exclude_none=True) if model.hudproxy else {"format": FORMAT_VERSION}
    return recorded_order(http, mcp), meta


def _checked_http(item: FileInteraction, n: int) -> Interaction:
    try:
        return checked(interaction_from_file(item, n))
    except BadValue as exc:
        raise exc.within("interactions", n) from None


def _checked_mcp(item: FileMcpExchange, position: int, n: int) -> Interaction:
    try:
        return checked(mcp_from_dict(item.model_dump(), position), http_locations=False)
    except BadValue as exc:
        raise exc.within("mcp", n) from None
    except Malformed:  # the schema accepted it, so this is a value the fast path's own checks refuse
        raise BadValue(("mcp", n), "not an MCP exchange hudproxy can replay; compare it with a recorded one") from None


def dotted(loc: tuple[Any, ...]) -> str:
    """`("interactions", 3, "response", "status")` -> `interactions[3].response.status`."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def bad_value_message(path: Path, text: bytes, exc: BadValue) -> str:
    return f"{path}:{line_of(text, exc.loc, path)}: {dotted(exc.loc)}: {exc.problem}."


def validation_message(path: Path, text: bytes, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    if loc[-1:] == ("[key]",):  # a mapping key that is not text: say which, and YAML's usual surprise
        loc = loc[:-2]
        return (
            f"{path}:{line_of(text, loc, path)}: {dotted(loc)}: keys must be text (YAML reads unquoted on, off, yes, "
            f"no as true/false: quote them, 'on'){more}."
        )
    return f"{path}:{line_of(text, loc, path)}: {dotted(loc)}: {first['msg'].lower()}{more}."


def _scrub_section(data: Any) -> object:
    from hudproxy.scrub.policy import ScrubPolicy

    return ScrubPolicy.from_dict(data)


# The parser of each policy section in a cassette's `hudproxy` mapping. A layer above the cassette registers the
# section it owns (matching registers `match` when it is imported), so the cassette never imports it.
SECTION_PARSERS: dict[str, Callable[[Any], object]] = {"scrub": _scrub_section}


def register_section(name: str, parse: Callable[[Any], object]) -> None:
    """Have `load_cassette` check a `hudproxy.<name>` policy section with `parse` (which raises on a bad one)."""
    SECTION_PARSERS[name] = parse


def policy_problem(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(section, reason) when a recorded policy section does not parse as replay will parse it."""
    for section, parse in SECTION_PARSERS.items():
        recorded = meta.get(section)
        if not recorded:
            continue
        try:
            parse(recorded)
        except (HudproxyError, TypeError, ValueError, AttributeError, KeyError) as exc:
            return section, str(exc).rstrip(".") or type(exc).__name__
    return None


def checked_policies(path: Path, text: bytes, meta: dict[str, Any]) -> None:
    """Parse the recorded policies now, as replay will: a bad one fails here, named, rather than at the replay
    server's start (or its first request)."""
    problem = policy_problem(meta)
    if problem is None:
        return
    section, reason = problem
    recorded = meta[section]
    key = next((k for k in recorded if isinstance(k, str) and reason.startswith(f"{k}:")), None)
    loc = ("hudproxy", section) if key is None else ("hudproxy", section, key)
    raise CassetteError(
        f"{path}:{line_of(text, loc, path)}: hudproxy.{section}: {reason}; fix it or delete the section "
        "(replay then uses the default policy or its command-line options)."
    )
