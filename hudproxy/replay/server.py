"""Assemble a replay server from a cassette path and options: the one function the CLI and API call."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

from hudproxy.cassette.files import gc_paused, load_cassette
from hudproxy.cassette.lazy import LazyInteractions
from hudproxy.errors import ConfigError
from hudproxy.faults.load import faults_from
from hudproxy.journal.query import max_seq
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.policy import with_read_only_hints
from hudproxy.netutil import validate_target
from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.engine import ReplayEngine, policies_for
from hudproxy.replay.limits import limits_for
from hudproxy.replay.options import DEFAULT_OPTIONS, ReplayOptions, Unmatched
from hudproxy.replay.passthrough import Passthrough
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import SessionStore
from hudproxy.resources.documents import load_openapi

__all__ = ["DEFAULT_JOURNAL", "JOURNAL_ENV", "ReplayOptions", "Unmatched", "build_service", "create_replay_app"]

DEFAULT_JOURNAL = Path(".hudproxy") / "journal.db"
JOURNAL_ENV = "HUDPROXY_JOURNAL"  # the default of --journal / --db when set (a container, a CI job)


def build_service(cassette_path: str | Path, options: ReplayOptions = DEFAULT_OPTIONS) -> ReplayService:
    """Load and index a cassette, with sessions, the journal and (if asked) passthrough of misses.

    `options.record_misses` makes the recorder passthrough appends with (`hudproxy.record.misses.record_misses`):
    the adapter (CLI, Python API) passes it, so replay never imports the recorder. `options.stream_timing` is
    the ASGI app's (`create_replay_app`); each option is described on `ReplayOptions`."""
    faults = faults_from(options.faults, "--faults")  # checked first: a bad file fails before anything loads
    cassette = load_cassette(cassette_path, lazy=True)  # a big compiled cassette is memory-mapped, not read
    mode = Unmatched.parse(str(options.unmatched))
    forward, generalise, seed, openapi = options.forward, options.generalise, options.seed, options.openapi
    policy = with_read_only_hints(policies_for(cassette, options.match, forward=forward), cassette.interactions)
    if seed is not None and not generalise:
        raise ConfigError(
            f"--seed {seed}: it fixes the ids --generalise invents; give --generalise too (Python: generalise=True)."
        )
    if openapi is not None and not generalise:
        shown = "a document" if isinstance(openapi, dict) else openapi
        raise ConfigError(f"--openapi {shown}: it shapes the model --generalise answers from; give --generalise too.")
    document = load_openapi(openapi) if isinstance(openapi, str | Path) else openapi
    with gc_paused():  # the index's many small objects: collected never (frozen below), not walked on the way
        engine = ReplayEngine.from_cassette(cassette, policy, generalise=generalise, seed=seed or 0, openapi=document)
        if not isinstance(cassette.interactions, LazyInteractions):
            gc.collect()  # a parsed file's garbage cycles go before what stays is frozen (a mapped one has none)
        gc.freeze()  # the cassette and index live as long as the server: keep them out of every later GC pass
    on_miss, recorder = None, None
    if mode is Unmatched.PASSTHROUGH:
        target = options.target
        if forward:
            raise ConfigError("--unmatched passthrough is for reverse mode; in forward mode nothing is forwarded.")
        if not target:
            raise ConfigError("--unmatched passthrough needs --target URL (where to forward unmatched requests).")
        if options.record_misses is None:
            raise ConfigError("--unmatched passthrough needs a recorder for the misses: pass record_misses.")
        recorder = options.record_misses(Path(cassette_path), engine.index.policy, target)
        verify = options.upstream_verify if options.upstream_verify is not None else True
        on_miss = Passthrough(validate_target(target), recorder, verify).forward
    journal = options.journal
    source = str(Path(cassette_path).resolve())
    writer = JournalWriter(journal, engine.index.policy.scrub, source=source) if journal is not None else None
    gc.freeze()  # and what the service built beside them
    first_seq = max_seq(journal) if journal is not None else 0  # this run's numbers follow the file's
    sessions = SessionStore(options.idle_timeout, first_seq)
    limits = limits_for(options.max_body)
    service = ReplayService(engine, sessions, writer, on_miss, cassette=cassette, limits=limits)
    service.recorder = recorder
    service.faults = faults
    return service


def create_replay_app(cassette_path: str | Path, options: ReplayOptions = DEFAULT_OPTIONS) -> ReplayApp:
    """The reverse-mode replay server as an ASGI app (passthrough appends misses to the same file); it is never
    a forward proxy, so `options.forward` is ignored here.

    The admin API is attached by `hudproxy.admin.attach_admin`, which the CLI and the Python API call."""
    service = build_service(cassette_path, dataclasses.replace(options, forward=False))
    return ReplayApp.from_service(service, stream_timing=options.stream_timing)
