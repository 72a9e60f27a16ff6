"""`Recording`: the same session surface over a recording proxy, so one test body serves both."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Any, Self

from hudproxy.api.base import BaseSession
from hudproxy.cassette.appendlog import log_path
from hudproxy.interaction.model import Interaction
from hudproxy.journal.entry import Pending, to_row
from hudproxy.journal.query import Call, CallList
from hudproxy.matching.policy import MatchPolicy
from hudproxy.record.background import recording_proxy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.replay.engine import Outcome
from hudproxy.scrub.policy import ScrubPolicy


def recorded_call(interaction: Interaction, session: str, seq: int) -> Call:
    """A recorded exchange as a journal Call (already scrubbed by the recorder), so assertions work alike."""
    at = interaction.recorded_at
    started = dt.datetime.fromisoformat(at).timestamp() if at else 0.0
    outcome = Outcome(interaction.request, interaction.response, interaction)
    pending = Pending(session, seq, started, interaction.duration_ms or 0.0, outcome)
    return Call.from_row(to_row(pending, ScrubPolicy.disabled()))


class RecordingSession(BaseSession):
    """A session on a recording proxy: its calls are what was recorded while it was open.

    The proxy is shared, so this holds while one test at a time uses it (as pytest runs them in a process).
    """

    def __init__(self, recording: Recording, session_id: str) -> None:
        super().__init__(session_id, recording.base_url)
        self.recording = recording
        self._start = recording.recorded_count()
        self._end: int | None = None

    def _read(self) -> CallList:
        interactions = self.recording.interactions()[self._start : self._end]
        return CallList(recorded_call(i, self.id, n) for n, i in enumerate(interactions, start=1))

    def reset(self) -> None:
        """The upstream keeps its state; `calls()` shows only what comes next."""
        self._start = self.recording.recorded_count()

    def close(self) -> None:
        if self._end is None:
            self._end = self.recording.recorded_count()


class Recording:
    """Re-record a cassette: a recording proxy in front of `target`, record mode `all`, into a fresh file.

    The fresh file replaces the cassette only at a clean exit, so a crashed run leaves the old one intact.
    `upstream_timeout` (seconds) waits longer for a slow upstream (a local LLM) than the proxy's default.
    """

    def __init__(
        self,
        cassette: str | Path,
        target: str,
        *,
        match: MatchPolicy | None = None,
        scrub: ScrubPolicy | None = None,
        upstream_timeout: float | None = None,
    ) -> None:
        self.cassette = Path(cassette)
        self.upstream_timeout = upstream_timeout  # seconds for the upstream's answer (a slow LLM); None: default
        self.target = target
        self.fresh = self.cassette.with_name(f".{self.cassette.stem}.recording{self.cassette.suffix}")
        self._options: dict[str, Any] = {"match": match, "scrub": scrub}
        self._stack = contextlib.ExitStack()
        self._recorder: Recorder | None = None
        self._sessions = 0
        self.base_url = ""

    def start(self) -> Self:
        self.cassette.parent.mkdir(parents=True, exist_ok=True)
        self.fresh.unlink(missing_ok=True)
        log_path(self.fresh).unlink(missing_ok=True)  # a crashed run's log must not join this fresh one
        self._recorder = Recorder(self.fresh, RecordMode.ALL, target=self.target, **self._options)
        proxy = recording_proxy(self._recorder, self.target, upstream_timeout=self.upstream_timeout)
        self.base_url = self._stack.enter_context(proxy)
        return self

    def stop(self, keep: bool = True) -> None:
        """Stop the proxy (flushing the fresh file), then move it over the cassette, or drop it."""
        self._stack.close()
        if keep and self.fresh.exists():
            os.replace(self.fresh, self.cassette)
        else:
            self.fresh.unlink(missing_ok=True)

    def interactions(self) -> list[Interaction]:
        return list(self._recorder.writer.cassette.interactions) if self._recorder is not None else []

    def recorded_count(self) -> int:
        return len(self._recorder.writer.cassette.interactions) if self._recorder is not None else 0

    def session(self, session_id: str | None = None) -> RecordingSession:
        self._sessions += 1
        return RecordingSession(self, session_id or f"record-{self._sessions}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.stop(keep=exc_type is None)
