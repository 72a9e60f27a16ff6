"""Sessions: isolated replay states over one shared, read-only index, chosen per request.

A client picks its session with a path prefix `/s/<id>/...` (for code that can only set a base URL) or the
header `X-Hudproxy-Session: <id>`; with neither it gets the default session.
"""

from __future__ import annotations

from hudproxy.replay.state import ReplayState

DEFAULT_SESSION = "default"
SESSION_HEADER = b"x-hudproxy-session"
PREFIX = "/s/"


def split_session_path(path: str) -> tuple[str | None, str]:
    """(`id`, rest) for `/s/<id>/rest`; (None, path) otherwise."""
    if not path.startswith(PREFIX):
        return None, path
    rest = path[len(PREFIX) :]
    session_id, slash, tail = rest.partition("/")
    if not session_id:
        return None, path
    return session_id, slash + tail if slash else "/"


class SessionStore:
    """Session id → ReplayState, created on first use."""

    def __init__(self) -> None:
        self._states: dict[str, ReplayState] = {}

    def get(self, session_id: str | None) -> ReplayState:
        key = session_id or DEFAULT_SESSION
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = ReplayState()
        return state

    def reset(self, session_id: str) -> None:
        self.get(session_id).reset()

    def drop(self, session_id: str) -> None:
        self._states.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._states)

    def ids(self) -> list[str]:
        return list(self._states)
