"""Upgrades of hudproxy's own cassette metadata, one small function per format step (as mitmproxy's io.compat).

The vcrpy part stays at vcrpy's version 1; `hudproxy.format` versions only hudproxy's extra keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hudproxy.cassette.model import FORMAT_VERSION

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]

# Keyed by the version each function upgrades *from*. Empty while only format 1 exists.
UPGRADES: dict[int, Upgrade] = {}


def upgrade(data: dict[str, Any], found: int) -> dict[str, Any]:
    """Bring a parsed cassette from `found` to FORMAT_VERSION through the chain."""
    while found < FORMAT_VERSION:
        data = UPGRADES[found](data)
        found += 1
        data.setdefault("hudproxy", {})["format"] = found
    return data
