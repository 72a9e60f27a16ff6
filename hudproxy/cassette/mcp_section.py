"""The cassette's `mcp:` section: MCP exchanges beside vcrpy's `interactions`, merged in recorded order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hudproxy.cassette.convert import Malformed
from hudproxy.interaction.mcp import Exchange, from_interaction, to_interaction
from hudproxy.interaction.model import Interaction


def mcp_from_dict(item: Any, position: int) -> Interaction:
    """An entry of the `mcp` section → its synthetic Interaction (see hudproxy.interaction.mcp)."""
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
        if not isinstance(exchange.method, str) or not isinstance(exchange.params, dict):
            raise Malformed
        return to_interaction(
            exchange, position, recorded_at=meta.get("recorded_at"), duration_ms=meta.get("duration_ms")
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Malformed from exc


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
    http = [(_meta_index(item), _http_from_dict(item, i)) for i, item in enumerate(items)]
    mcp = [(_meta_index(item), mcp_from_dict(item, len(items) + i)) for i, item in enumerate(mcp_items)]
    return recorded_order(http, mcp)


def _meta_index(item: Any) -> Any:
    meta = item.get("hudproxy") if isinstance(item, dict) else None
    return meta.get("index") if isinstance(meta, dict) else None


def _http_from_dict(item: Any, position: int) -> Interaction:
    from hudproxy.cassette.convert import interaction_from_dict

    return interaction_from_dict(item, position)
