"""The sans-IO recording core: decide per request whether to replay, refuse or forward; record responses.

Adapters (the mitmproxy reverse and forward proxies) call `on_request` before contacting the upstream and
`on_response` after; the MCP recorder calls `decide` and `journaled`. Both may share one Recorder (a tool server
and the HTTP it sends): one cassette, one journal session `recording`, one seq counter, and `cause` says which
MCP call a request arriving now belongs to. This module never touches a socket.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hudproxy import __version__
from hudproxy.cassette.appendlog import log_path
from hudproxy.cassette.files import load_recovering
from hudproxy.cassette.model import FORMAT_VERSION, Cassette
from hudproxy.cassette.paths import check_writable, release_folders
from hudproxy.cassette.writer import CassetteWriter
from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.answers import write_failed_response
from hudproxy.interaction.model import Chunk, Interaction, Request, Response
from hudproxy.journal.entry import Pending
from hudproxy.journal.query import max_seq
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.policy import MatchPolicy
from hudproxy.record.modes import RecordMode
from hudproxy.replay.engine import Outcome, ReplayEngine
from hudproxy.replay.state import ReplayState
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_interaction

log = logging.getLogger("hudproxy.record")
RECORDING_SESSION = "recording"
Cause = Callable[[], int | None]


class Recorder:
    """One recording run into one cassette file."""

    def __init__(
        self,
        path: str | Path,
        mode: RecordMode | str = RecordMode.ONCE,
        match: MatchPolicy | None = None,
        scrub: ScrubPolicy | None = None,
        target: str | None = None,
        proxy_mode: str = "reverse",
        journal: JournalWriter | None = None,
    ) -> None:
        self.path = Path(path)
        self.journal = journal
        # HTTP (mitmproxy's thread) and MCP (the front's event loop) may record into one run: one lock, one seq.
        self._lock = threading.RLock()
        # a second recording into the same journal continues the numbering, so `parent` links stay unambiguous
        self._seq = max_seq(journal.path, RECORDING_SESSION) if journal is not None else 0
        self.cause: Cause | None = None  # who is running now (an MCP recorder's tool call), for `parent` links
        self.mode = RecordMode.parse(mode)
        self.scrub = scrub or ScrubPolicy.default()
        self.match = match or MatchPolicy.build(scrub=self.scrub, forward=proxy_mode == "forward")
        # refused at start, in one line: the file itself is only created by the first recorded interaction
        self.created_folders = check_writable(self.path) if self.mode is not RecordMode.NONE else []
        self.existed, cassette, recovered = self._open_cassette()
        cassette.meta.update(self._meta(target, proxy_mode))
        self.known = len(cassette.interactions)
        self.engine = ReplayEngine.from_cassette(cassette, self.match, context=f"record mode {self.mode.value}")
        self.state = ReplayState()
        # nothing is written before the first recorded interaction: a run that records nothing leaves no file
        self.writer = CassetteWriter(cassette, self.path, on_disk=self.known)
        if recovered:
            self.writer.consolidate()

    def _open_cassette(self) -> tuple[bool, Cassette, bool]:
        """(existed, cassette, recovered): an existing cassette with no interactions counts as absent in mode
        `once` (a recording stopped before any request used to leave one, and `once` then refused everything)."""
        if not self.path.exists() and not log_path(self.path).exists():
            return False, Cassette(path=self.path), False
        cassette, recovered = load_recovering(self.path)
        if self.mode is RecordMode.ONCE and not cassette.interactions:
            log.warning("%s holds no interactions: recording it as a new cassette (record mode once).", self.path)
            return False, cassette, recovered
        return True, cassette, recovered

    def _meta(self, target: str | None, proxy_mode: str) -> dict[str, object]:
        meta: dict[str, object] = {
            "format": FORMAT_VERSION,
            "recorded_with": f"hudproxy {__version__}",
            "mode": proxy_mode,
            "match": self.match.to_dict(),
            "scrub": self.scrub.to_dict(),
        }
        if target:
            meta["target"] = target
        return meta

    @property
    def replays_known(self) -> bool:
        return self.mode in (RecordMode.NEW_EPISODES, RecordMode.NONE) or (
            self.mode is RecordMode.ONCE and self.existed
        )

    @property
    def records_new(self) -> bool:
        return self.mode in (RecordMode.NEW_EPISODES, RecordMode.ALL) or (
            self.mode is RecordMode.ONCE and not self.existed
        )

    def next_seq(self) -> int:
        """The next number in session `recording`, shared by every adapter recording into this run."""
        with self._lock:
            self._seq += 1
            return self._seq

    def caused_by(self) -> int | None:
        """The seq of the call that caused a request arriving now (the one MCP tool call in flight), else None."""
        return self.cause() if self.cause is not None else None

    def decide(self, request: Request) -> Outcome | None:
        """An Outcome to answer with (replayed or refused), or None to forward upstream and record; not journaled."""
        with self._lock:
            if self.replays_known:
                interaction = self.engine.lookup(request, self.state)
                if interaction is not None:
                    return Outcome(request, interaction.response, interaction)
            if self.records_new:
                return None
            return self.engine.unmatched(request)

    def on_request(self, request: Request, parent: int | None = None) -> Outcome | None:
        """`decide`, with the answered (replayed or refused) request journaled."""
        outcome = self.decide(request)
        if outcome is not None:
            self.journaled(outcome, 0.0, parent=parent)
        return outcome

    def on_response(
        self,
        request: Request,
        response: Response,
        duration_ms: float,
        chunks: tuple[Chunk, ...] = (),
        parent: int | None = None,
    ) -> Interaction:
        """Scrub and write a forwarded exchange before its client is answered; raises CassetteWriteError when it
        could not be written (answer `write_failed_response` instead of the upstream's response)."""
        if chunks:
            response = Response(response.status, response.reason, response.headers, response.body, chunks)
        recorded = Interaction(
            request=request,
            response=response,
            recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            duration_ms=duration_ms,
        )
        try:
            appended = self.writer.append(scrub_interaction(recorded, self.scrub))
        except CassetteWriteError as exc:  # the writer logged it; the client must not get the 200
            self.journaled(Outcome(request, write_failed_response(exc)), duration_ms, parent=parent)
            raise
        self.journaled(Outcome(request, appended.response, appended), duration_ms, parent=parent)
        return appended

    def failed(self, request: Request, answer: Response, duration_ms: float, parent: int | None = None) -> int:
        """A forwarded request the upstream never answered: journaled with the error the client got, not recorded."""
        return self.journaled(Outcome(request, answer), duration_ms, parent=parent)

    def journaled(
        self,
        outcome: Outcome,
        duration_ms: float,
        kind: str = "http",
        parent: int | None = None,
        seq: int | None = None,
        started: float | None = None,
    ) -> int:
        """Every request the recorder answers or forwards is a journal row in session `recording`; returns its
        seq (`seq` given: a number taken with `next_seq` when the call started, so calls it causes can link to it)."""
        seq = self.next_seq() if seq is None else seq
        if self.journal is not None:
            at = time.time() if started is None else started
            self.journal.add(Pending(RECORDING_SESSION, seq, at, duration_ms, outcome, kind, parent))
        return seq

    def close(self) -> None:
        """Stop: sync and complete the cassette; raises CassetteWriteError if any interaction was not recorded."""
        try:
            self.writer.close()
        finally:
            if self.journal is not None:
                self.journal.close()
            release_folders(self.path, self.created_folders)

    @property
    def recorded(self) -> int:
        return len(self.writer.cassette.interactions) - self.known
