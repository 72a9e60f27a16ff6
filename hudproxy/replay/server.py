"""Assemble a replay server from a cassette path and options: the one function the CLI and API call."""

from __future__ import annotations

import gc
import ssl
from pathlib import Path
from typing import Any

from hudproxy.cassette.files import load_cassette
from hudproxy.choices import Choice
from hudproxy.errors import ConfigError
from hudproxy.journal.query import max_seq
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.policy import MatchPolicy, with_read_only_hints
from hudproxy.netutil import validate_target
from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.engine import ReplayEngine, policies_for
from hudproxy.replay.limits import limits_for
from hudproxy.replay.passthrough import Passthrough, RecordMisses
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import SessionStore
from hudproxy.resources.documents import load_openapi


class Unmatched(Choice):
    """What to do with a request no recording matches (as mitmproxy's server_replay_extra, but safe)."""

    ERROR = "error"
    PASSTHROUGH = "passthrough"

    @classmethod
    def option_name(cls) -> str:
        return "--unmatched"


DEFAULT_JOURNAL = Path(".hudproxy") / "journal.db"
JOURNAL_ENV = "HUDPROXY_JOURNAL"  # the default of --journal / --db when set (a container, a CI job)


def build_service(
    cassette_path: str | Path,
    match: MatchPolicy | None = None,
    unmatched: Unmatched | str = Unmatched.ERROR,
    target: str | None = None,
    journal: str | Path | None = None,
    idle_timeout: float | None = 3600.0,
    forward: bool = False,
    record_misses: RecordMisses | None = None,
    max_body: int | None = None,
    generalise: bool = False,
    seed: int | None = None,
    openapi: str | Path | dict[str, Any] | None = None,
    upstream_verify: ssl.SSLContext | None = None,
) -> ReplayService:
    """Load and index a cassette, with sessions, the journal and (if asked) passthrough of misses.

    `record_misses` makes the recorder passthrough appends with (`hudproxy.record.misses.record_misses`): the
    adapter (CLI, Python API) passes it, so replay never imports the recorder. `max_body`: the request body
    limit in bytes (default 64 MiB), answered 413 beyond it. `upstream_verify`: how passthrough checks the
    target's certificate (None: httpx's default CAs)."""
    cassette = load_cassette(cassette_path)
    mode = Unmatched.parse(str(unmatched))
    policy = with_read_only_hints(policies_for(cassette, match, forward=forward), cassette.interactions)
    if seed is not None and not generalise:
        raise ConfigError(
            f"--seed {seed}: it fixes the ids --generalise invents; give --generalise too (Python: generalise=True)."
        )
    if openapi is not None and not generalise:
        shown = "a document" if isinstance(openapi, dict) else openapi
        raise ConfigError(f"--openapi {shown}: it shapes the model --generalise answers from; give --generalise too.")
    document = load_openapi(openapi) if isinstance(openapi, str | Path) else openapi
    engine = ReplayEngine.from_cassette(cassette, policy, generalise=generalise, seed=seed or 0, openapi=document)
    on_miss, recorder = None, None
    if mode is Unmatched.PASSTHROUGH:
        if forward:
            raise ConfigError("--unmatched passthrough is for reverse mode; in forward mode nothing is forwarded.")
        if not target:
            raise ConfigError("--unmatched passthrough needs --target URL (where to forward unmatched requests).")
        if record_misses is None:
            raise ConfigError("--unmatched passthrough needs a recorder for the misses: pass record_misses.")
        recorder = record_misses(Path(cassette_path), engine.index.policy, target)
        verify = upstream_verify if upstream_verify is not None else True
        on_miss = Passthrough(validate_target(target), recorder, verify).forward
    source = str(Path(cassette_path).resolve())
    writer = JournalWriter(journal, engine.index.policy.scrub, source=source) if journal is not None else None
    gc.collect()
    gc.freeze()  # the cassette and index live as long as the server: keep them out of every later GC pass
    first_seq = max_seq(journal) if journal is not None else 0  # this run's numbers follow the file's
    sessions = SessionStore(idle_timeout, first_seq)
    service = ReplayService(engine, sessions, writer, on_miss, cassette=cassette, limits=limits_for(max_body))
    service.recorder = recorder
    return service


def create_replay_app(
    cassette_path: str | Path,
    match: MatchPolicy | None = None,
    unmatched: Unmatched | str = Unmatched.ERROR,
    target: str | None = None,
    stream_timing: bool = False,
    journal: str | Path | None = None,
    idle_timeout: float | None = 3600.0,
    record_misses: RecordMisses | None = None,
    max_body: int | None = None,
    generalise: bool = False,
    seed: int | None = None,
    openapi: str | Path | dict[str, Any] | None = None,
    upstream_verify: ssl.SSLContext | None = None,
) -> ReplayApp:
    """The reverse-mode replay server as an ASGI app (passthrough appends misses to the same file).

    `journal` is the SQLite file every call is written to (None: no journal). The admin API is attached by
    `hudproxy.admin.attach_admin`, which the CLI and the Python API call. `generalise`: answer what no recording
    matches from each session's resources, learned from the cassette (`hudproxy.resources`); `seed` (with the
    session id) fixes the uuid/hex ids it invents; `openapi` (a document's file) overrides its inferred templates.
    """
    service = build_service(
        cassette_path, match, unmatched, target, journal, idle_timeout, False, record_misses, max_body=max_body,
        generalise=generalise, seed=seed, openapi=openapi, upstream_verify=upstream_verify,
    )
    return ReplayApp.from_service(service, stream_timing=stream_timing)
