"""The cassette's `mcp:` section: MCP exchanges beside vcrpy's `interactions`, merged in recorded order."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hudproxy.cassette.values import BadValue, Malformed, checked
from hudproxy.interaction.mcp import NAMED, Exchange, from_interaction, is_mcp, to_interaction
from hudproxy.interaction.model import Interaction


def mcp_from_dict(item: Any, position: int) -> Interaction:
    """An entry of the `mcp` section → its synthetic Interaction (see hudproxy.interaction.mcp).

    Malformed for a wrong shape (the schema then names it); BadValue for a value MCP replay cannot serve.
    """
    try:
        meta = item.get("hudproxy") or {}
        exchange = Exchange(
            server=str(item.get("server") or "default"),
            method=item["method"],
            params=item.get("params") or {},
            result=item.get("result"),
            error=item.get("error"),
            notifications=item.get("notifications") or [],
            notification_ms=[float(ms) for ms in meta.get("notification_ms") or []],
        )
        if not isinstance(exchange.method, str) or not isinstance(exchange.params, dict) or not isinstance(meta, dict):
            raise Malformed
        _check_exchange(exchange)
        return to_interaction(
            exchange, position, recorded_at=meta.get("recorded_at"), duration_ms=meta.get("duration_ms")
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Malformed from exc


def _check_exchange(exchange: Exchange) -> None:
    """What MCP replay relies on: a named call names its tool/prompt/resource, and every part is plain JSON."""
    if not exchange.method:
        raise BadValue(("method",), "an MCP exchange needs its JSON-RPC method (tools/call, tools/list, ...)")
    key = NAMED.get(exchange.method)
    if key is not None and not (isinstance(exchange.params.get(key), str) and exchange.params[key]):
        raise BadValue(
            ("params", key),
            f"a {exchange.method} exchange needs params.{key} as text (the {key} it was called with); add it",
        )
    if exchange.method in ("tools/call", "prompts/get") and not isinstance(
        exchange.params.get("arguments") or {}, dict
    ):
        raise BadValue(("params", "arguments"), "arguments must be a mapping of argument names to values")
    error = exchange.error
    if error is not None and not (
        isinstance(error, dict) and type(error.get("code", 0)) is int and isinstance(error.get("message", ""), str)
    ):
        raise BadValue(("error",), "an error must be a mapping with an integer code and a text message")
    if not isinstance(exchange.notifications, list) or not all(
        isinstance(n, dict) and isinstance(n.get("params") or {}, dict) for n in exchange.notifications
    ):
        raise BadValue(("notifications",), "notifications must be a list of JSON-RPC notifications (method, params)")
    for part in ("params", "result", "error", "notifications"):
        try:
            json.dumps(getattr(exchange, part), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise BadValue(
                (part,),
                f"holds a value JSON cannot carry ({_reason(exc)}); quote dates and binary, use finite numbers",
            ) from None


def still_sound(interaction: Interaction) -> bool:
    """An interaction from elsewhere (the compiled cache) passes the loader's checks unchanged."""
    try:
        if is_mcp(interaction):
            _check_exchange(from_interaction(interaction))
        return checked(interaction) is interaction
    except (BadValue, ValueError, TypeError, AttributeError, KeyError):
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:80]


def mcp_to_file(interaction: Interaction) -> dict[str, Any]:
    exchange = from_interaction(interaction)
    entry: dict[str, Any] = {"server": exchange.server, "method": exchange.method, "params": exchange.params}
    if exchange.error is not None:
        entry["error"] = exchange.error
    else:
        entry["result"] = exchange.result
    if exchange.notifications:
        entry["notifications"] = exchange.notifications
    meta: dict[str, Any] = {"index": interaction.index}
    if interaction.recorded_at:
        meta["recorded_at"] = interaction.recorded_at
    if interaction.duration_ms is not None:
        meta["duration_ms"] = round(interaction.duration_ms, 3)
    if exchange.notification_ms:  # beside `notifications`, as `chunks` beside an HTTP stream's body
        meta["notification_ms"] = [round(ms, 3) for ms in exchange.notification_ms]
    entry["hudproxy"] = meta
    return entry


def recorded_order(http: list[tuple[Any, Interaction]], mcp: list[tuple[Any, Interaction]]) -> list[Interaction]:
    """Both sections in the order they were recorded (their `hudproxy.index`), renumbered 0..n-1."""
    if not mcp:
        return [i for _, i in http]
    tagged = [(meta_index if isinstance(meta_index, int) else n, n, i) for n, (meta_index, i) in enumerate(http + mcp)]
    tagged.sort(key=lambda t: (t[0], t[1]))
    return [replace(i, index=position) for position, (_, _, i) in enumerate(tagged)]


def ordered(items: list[Any], mcp_items: list[Any]) -> list[Interaction]:
    """The fast path: both sections from plain dicts, each interaction checked for the wire (values.checked).

    Raises Malformed (the schema re-validates for the message) or BadValue located in its section.
    """
    from hudproxy.cassette.convert import interaction_from_dict

    http = [
        (_meta_index(item), _checked(interaction_from_dict, item, n, "interactions", n)) for n, item in enumerate(items)
    ]
    mcp = [
        (_meta_index(item), _checked(mcp_from_dict, item, len(items) + n, "mcp", n)) for n, item in enumerate(mcp_items)
    ]
    return recorded_order(http, mcp)


def _checked(convert: Callable[[Any, int], Interaction], item: Any, position: int, section: str, n: int) -> Interaction:
    try:
        return checked(convert(item, position), http_locations=section == "interactions")
    except BadValue as exc:
        raise exc.within(section, n) from None


def _meta_index(item: Any) -> Any:
    meta = item.get("hudproxy") if isinstance(item, dict) else None
    return meta.get("index") if isinstance(meta, dict) else None
