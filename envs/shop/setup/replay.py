"""HUDPROXY_SHOP_MODE=replay: the shop's tools answer from a hudproxy replay of cassettes/shop.yaml.

Each run sends its own `X-Hudproxy-Session`, so each has its own replay state, as each has its own app in-process.
HUDPROXY_SHOP_JOURNAL=PATH keeps the replay's journal there (each run's calls under its session), e.g. to look at
with `hudproxy ui --journal PATH`; without it the journal is a temporary file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from hudproxy.api import Replay

CASSETTE = Path(os.environ.get("HUDPROXY_SHOP_CASSETTE", Path(__file__).resolve().parents[3] / "cassettes/shop.yaml"))
_running: dict[str, str] = {}


async def shop_replay() -> AsyncIterator[None]:
    """Start the replay server for the environment's lifetime (kept across `hudproxy dev` reloads)."""
    replay = Replay(CASSETTE, journal=os.environ.get("HUDPROXY_SHOP_JOURNAL") or None)
    await asyncio.to_thread(replay.start)
    _running["base_url"] = replay.base_url
    try:
        yield
    finally:
        _running.pop("base_url", None)
        await asyncio.to_thread(replay.stop)


def base_url() -> str:
    return _running["base_url"]
