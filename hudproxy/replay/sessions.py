"""Sessions: isolated replay states over one shared, read-only index, chosen per request.

A client picks its session with a path prefix `/s/<id>/...` (for code that can only set a base URL) or the
header `X-Hudproxy-Session: <id>`; with neither it gets the default session. A session is created on first use
(or explicitly), costs a few hundred bytes (two empty containers and counters: copy-on-write over the shared
index, never a copy of the cassette), and is dropped after `idle_timeout` seconds without a request.

A session's journal numbers (`seq`) never repeat within a journal file: a reset keeps counting (`since` marks
where the new run starts), a dropped id that comes back continues where it stopped, and a new session starts
after the highest number the journal already held when the server started (`first_seq`).
"""

from __future__ import annotations

import re
import secrets
import time

from hudproxy.errors import ConfigError
from hudproxy.faults.plan import FaultPlan, SessionCounters
from hudproxy.replay.state import ReplayState

DEFAULT_SESSION = "default"
INVALID_SESSION = "invalid-session-id"  # where the journal puts requests whose session id was refused
SESSION_HEADER = b"x-hudproxy-session"
PREFIX = "/s/"
VALID_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
SWEEP_EVERY = 30.0


def split_session_path(path: str) -> tuple[str | None, str]:
    """(`id`, rest) for `/s/<id>/rest`; (None, path) otherwise."""
    if not path.startswith(PREFIX):
        return None, path
    rest = path[len(PREFIX) :]
    session_id, slash, tail = rest.partition("/")
    if not session_id:
        return None, path
    return session_id, slash + tail if slash else "/"


class Session:
    """One isolated run: its replay state and its journal sequence."""

    __slots__ = ("counters", "created", "faults", "id", "last_seen", "seq", "since", "state")

    def __init__(self, session_id: str, seq: int = 0) -> None:
        self.id = session_id
        self.state = ReplayState(session_id)
        self.seq = self.since = seq  # since: the last seq before this run (its calls are numbered after it)
        self.created = self.last_seen = time.time()
        self.faults: FaultPlan | None = None  # this session's fault rules, over the server's (`--faults`)
        self.counters = SessionCounters()  # each fault rule's matching calls and faults so far

    @property
    def calls(self) -> int:
        """Calls made since the session (re)started."""
        return self.seq - self.since

    def next_seq(self) -> int:
        self.seq += 1
        self.last_seen = time.time()
        return self.seq

    def reset(self) -> None:
        """Fresh replay state; numbering goes on, so the journal rows of each run stay apart."""
        self.state.reset()
        self.counters.clear()  # a fresh run gets the same faults at the same calls
        self.since = self.seq


class InvalidSessionId(ConfigError):
    """A request named a session id outside VALID_ID (from its path prefix or header)."""


def id_rule(session_id: str) -> str:
    shown = session_id if len(session_id) <= 40 else session_id[:40] + "..."
    return f"session id {shown!r} must be 1-128 of letters, digits, '_', '.', ':', '-'."


class SessionStore:
    """Session id → Session, created on first use; idle sessions are swept now and then."""

    def __init__(self, idle_timeout: float | None = 3600.0, first_seq: int = 0) -> None:
        self._sessions: dict[str, Session] = {}
        self._ended: dict[str, int] = {}  # dropped session id -> its last seq, for an id that comes back
        self.idle_timeout = idle_timeout
        self.first_seq = first_seq
        self._last_sweep = time.monotonic()

    def get(self, session_id: str | None) -> Session:
        key = session_id or DEFAULT_SESSION
        session = self._sessions.get(key)
        if session is None:
            if not VALID_ID.fullmatch(key):  # only when a session is made: a known id was checked then
                raise InvalidSessionId(id_rule(key))
            session = self._sessions[key] = Session(key, self._ended.pop(key, self.first_seq))
            self._maybe_sweep()
        return session

    def create(self, session_id: str | None = None) -> Session:
        """An explicit, fresh session (a random id unless one is given); an existing id is reset."""
        if session_id is not None and not VALID_ID.fullmatch(session_id):
            raise InvalidSessionId(id_rule(session_id))
        session = self.get(session_id or secrets.token_hex(8))
        session.reset()
        return session

    def find(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def reset(self, session_id: str) -> bool:
        session = self._sessions.get(session_id)
        if session is not None:
            session.reset()
        return session is not None

    def drop(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            self._ended[session_id] = session.seq
        return session is not None

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):
        return iter(list(self._sessions.values()))

    def ids(self) -> list[str]:
        return list(self._sessions)

    def _maybe_sweep(self) -> None:
        now = time.monotonic()
        if self.idle_timeout is None or now - self._last_sweep < min(SWEEP_EVERY, self.idle_timeout / 2):
            return
        self._last_sweep = now
        self.sweep()

    def sweep(self) -> int:
        """Drop sessions idle for longer than the timeout (never the default one); returns how many."""
        if self.idle_timeout is None:
            return 0
        cutoff = time.time() - self.idle_timeout
        stale = [k for k, s in self._sessions.items() if s.last_seen < cutoff and k != DEFAULT_SESSION]
        for key in stale:
            self.drop(key)
        return len(stale)
