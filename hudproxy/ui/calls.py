"""How the inspector shows a call: its class (the timeline colour), its links to the calls it caused, bodies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hudproxy.journal.query import Call

CLASSES = ("http", "mcp", "synthesized", "fault", "unmatched")


def call_class(call: Call) -> str:
    """unmatched (nothing answered), synthesized (the resource model answered), fault (an injected failure),
    mcp (a tool call) or http: the first that holds, in that order."""
    if call.kind == "fault":
        return "fault"
    if call.synthesized:
        return "synthesized"
    if call.missed:
        return "unmatched"
    return "mcp" if call.kind == "mcp" else "http"


CLASS_FILTERS: dict[str, dict[str, str]] = {  # Timelines.page's filters for each class
    "http": {"kind": "http", "answered_by": "recording"},
    "mcp": {"kind": "mcp"},
    "synthesized": {"answered_by": "model"},
    "fault": {"kind": "fault"},
    "unmatched": {"answered_by": "miss"},
}


def caused_by_next_tool(calls: Sequence[Call]) -> dict[int, int]:
    """child seq -> parent seq. Where the journal has `parent` links they are used; an eval run's own journal
    (hudproxy.env.journal) has none but appends each HTTP request a tool made just before that tool's row, so
    there an HTTP call belongs to the next MCP call."""
    linked = {c.seq: c.parent for c in calls if c.parent is not None}
    if linked:
        return linked
    owner: dict[int, int] = {}
    waiting: list[int] = []
    for call in calls:
        if call.kind == "mcp":
            owner.update(dict.fromkeys(waiting, call.seq))
            waiting = []
        else:
            waiting.append(call.seq)
    return owner


def pretty(text: str | None) -> Any:
    """A body as data when it is JSON (the template folds it), else the text itself."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
