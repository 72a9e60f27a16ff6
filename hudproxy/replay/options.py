"""`ReplayOptions`: every option of a replay server in one frozen value, so the CLI, the Python API, the demo and
the tests hand `build_service` / `create_replay_app` one object instead of a dozen arguments in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hudproxy.choices import Choice

if TYPE_CHECKING:
    import ssl
    from pathlib import Path

    from hudproxy.matching.policy import MatchPolicy
    from hudproxy.replay.passthrough import RecordMisses


class Unmatched(Choice):
    """What to do with a request no recording matches (as mitmproxy's server_replay_extra, but safe)."""

    ERROR = "error"
    PASSTHROUGH = "passthrough"

    @classmethod
    def option_name(cls) -> str:
        return "--unmatched"


class ServerKind(Choice):
    """Which HTTP server answers replay requests: the fast path (pre-built bytes; anything unusual still goes
    to the ASGI app on the same connection) or uvicorn with the ASGI app for every request."""

    FAST = "fast"
    ASGI = "asgi"

    @classmethod
    def option_name(cls) -> str:
        return "--server"


SERVER_ENV = "HUDPROXY_REPLAY_SERVER"  # the default of `--server` / `Replay(server=)` when set


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay server matches, answers, journals and forwards; the defaults are `hudproxy replay`'s."""

    match: MatchPolicy | None = None  # which request parts select a recording (None: the cassette's own policy)
    unmatched: Unmatched | str = Unmatched.ERROR  # a miss: 501 with the nearest recordings, or passthrough
    target: str | None = None  # where passthrough forwards HTTP misses (reverse mode only)
    stream_timing: bool = False  # replay streamed bodies at their recorded pace (create_replay_app only)
    journal: str | Path | None = None  # the SQLite file every call is written to (None: no journal)
    idle_timeout: float | None = 3600.0  # seconds before an idle session is dropped (None: never)
    forward: bool = False  # forward-proxy mode (build_service only; create_replay_app is reverse mode)
    record_misses: RecordMisses | None = None  # makes the recorder passthrough appends misses with
    max_body: int | None = None  # the request body limit in bytes, 413 beyond it (None: 64 MiB)
    generalise: bool = False  # answer unrecorded CRUD requests from each session's learned resources
    seed: int | None = None  # with the session id, fixes the ids --generalise invents (needs generalise)
    openapi: str | Path | dict[str, Any] | None = None  # an OpenAPI file or document shaping --generalise's model
    upstream_verify: ssl.SSLContext | None = None  # how passthrough checks the target's certificate (None: httpx CAs)
    faults: Any = None  # fault rules for every session: a faults file path, the data, or a FaultPlan (`--faults`)


DEFAULT_OPTIONS = ReplayOptions()  # frozen, so one shared instance is a safe default argument
