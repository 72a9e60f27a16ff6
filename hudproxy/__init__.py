"""hudproxy: record real HTTP and MCP traffic once, replay it as deterministic, isolated mocks.

    from hudproxy import Replay

    with Replay("cassettes/shop.yaml") as proxy:
        s = proxy.session()
        ...
        s.assert_called("PATCH", "/orders/A1", json={"status": "shipped"}, times=1)

The public names load on first use, so `import hudproxy` (and the CLI, and the pytest plugin) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hudproxy.lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hudproxy.api import AsyncReplay, AsyncSession, Recording, RecordingSession, Replay, Session
    from hudproxy.env import Environment, ScriptedAgent
    from hudproxy.journal import Call, CallList, CallSpec

_EXPORTS = {
    "AsyncReplay": "hudproxy.api",
    "AsyncSession": "hudproxy.api",
    "Recording": "hudproxy.api",
    "RecordingSession": "hudproxy.api",
    "Replay": "hudproxy.api",
    "Session": "hudproxy.api",
    "Call": "hudproxy.journal",
    "CallList": "hudproxy.journal",
    "CallSpec": "hudproxy.journal",
    "Environment": "hudproxy.env",
    "ScriptedAgent": "hudproxy.env",
}

__all__ = [
    "AsyncReplay",
    "AsyncSession",
    "Call",
    "CallList",
    "CallSpec",
    "Environment",
    "Recording",
    "RecordingSession",
    "Replay",
    "ScriptedAgent",
    "Session",
    "__version__",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
