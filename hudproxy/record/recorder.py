"""The sans-IO recording core: decide per request whether to replay, refuse or forward; record responses.

Adapters (the mitmproxy reverse proxy now, the forward proxy later) call `on_request` before contacting the
upstream and `on_response` after; this module never touches a socket.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

from hudproxy import __version__
from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import FORMAT_VERSION, Cassette
from hudproxy.cassette.writer import CassetteWriter
from hudproxy.interaction.model import Chunk, Interaction, Request, Response
from hudproxy.journal.entry import Pending
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.policy import MatchPolicy
from hudproxy.record.modes import RecordMode
from hudproxy.replay.engine import Outcome, ReplayEngine
from hudproxy.replay.state import ReplayState
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_interaction

log = logging.getLogger("hudproxy.record")
RECORDING_SESSION = "recording"


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
        self._seq = 0
        self.mode = RecordMode.parse(mode)
        self.scrub = scrub or ScrubPolicy.default()
        self.match = match or MatchPolicy.build(scrub=self.scrub, forward=proxy_mode == "forward")
        self.existed = self.path.exists()
        cassette = load_cassette(self.path) if self.existed else Cassette(path=self.path)
        cassette.meta.update(self._meta(target, proxy_mode))
        self.known = len(cassette.interactions)
        self.engine = ReplayEngine.from_cassette(cassette, self.match, context=f"record mode {self.mode.value}")
        self.state = ReplayState()
        self.writer = CassetteWriter(cassette, self.path)
        if not self.existed:
            self.writer.flush()

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

    def on_request(self, request: Request) -> Outcome | None:
        """An Outcome to answer with (replayed or refused), or None to forward upstream and record."""
        if self.replays_known:
            interaction = self.engine.lookup(request, self.state)
            if interaction is not None:
                return self._journaled(Outcome(request, interaction.response, interaction), 0.0)
        if self.records_new:
            return None
        return self._journaled(self.engine.unmatched(request), 0.0)

    def on_response(
        self, request: Request, response: Response, duration_ms: float, chunks: tuple[Chunk, ...] = ()
    ) -> Interaction:
        """Scrub and append a forwarded exchange; the file on disk follows within milliseconds."""
        if chunks:
            response = Response(response.status, response.reason, response.headers, response.body, chunks)
        recorded = Interaction(
            request=request,
            response=response,
            recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            duration_ms=duration_ms,
        )
        appended = self.writer.append(scrub_interaction(recorded, self.scrub))
        self._journaled(Outcome(request, appended.response, appended), duration_ms)
        return appended

    def _journaled(self, outcome: Outcome, duration_ms: float) -> Outcome:
        """Every request the recorder answers or forwards is a journal row in session `recording`."""
        if self.journal is not None:
            self._seq += 1
            self.journal.add(Pending(RECORDING_SESSION, self._seq, time.time(), duration_ms, outcome))
        return outcome

    def close(self) -> None:
        self.writer.close()
        if self.journal is not None:
            self.journal.close()

    @property
    def recorded(self) -> int:
        return len(self.writer.cassette.interactions) - self.known
