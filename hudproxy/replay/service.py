"""ReplayService: the engine, the sessions and the journal together, with no transport.

Every replay adapter (the ASGI server, the mitmproxy forward proxy, later MCP) holds one and calls
`answer(session_id, request)` then `journaled(...)`, so sessions and the journal behave the same everywhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from hudproxy.cassette.model import Cassette
from hudproxy.faults.effects import broken_body, fault_response
from hudproxy.faults.plan import FaultHit, FaultPlan
from hudproxy.interaction.body import REQUEST_LIMITS, BodyLimits
from hudproxy.interaction.model import Request
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.outcome import Outcome
from hudproxy.replay.engine import ReplayEngine
from hudproxy.replay.limits import TOO_LARGE_STATUS, handle_off_loop, is_heavy
from hudproxy.replay.passthrough import MissRecorder
from hudproxy.replay.sessions import INVALID_SESSION, InvalidSessionId, Session, SessionStore
from hudproxy.replay.unmatched import invalid_session_response

MissHandler = Callable[[Request], Awaitable[Outcome]]
OutcomeHook = Callable[[str, Outcome], None]


def invalid_session(request: Request, error: InvalidSessionId) -> Outcome:
    """A 400 journaled under INVALID_SESSION; the id is never stored."""
    return Outcome(request, invalid_session_response(str(error)), None, [])


class ReplayService:
    def __init__(
        self,
        engine: ReplayEngine,
        sessions: SessionStore | None = None,
        journal: JournalWriter | None = None,
        on_miss: MissHandler | None = None,
        on_outcome: OutcomeHook | None = None,
        cassette: Cassette | None = None,
        limits: BodyLimits = REQUEST_LIMITS,
    ) -> None:
        self.engine = engine
        self.limits = limits  # per request body: `--max-body`, and the inflation caps (413 beyond)
        self.sessions = sessions if sessions is not None else SessionStore()  # an empty store is falsy (len 0)
        self.journal = journal
        self.on_miss = on_miss
        self.on_outcome = on_outcome
        self.cassette = cassette
        # numbers the refused requests (after the journal's highest seq, as every session); never in the store
        self.refused = Session(INVALID_SESSION, self.sessions.first_seq)
        self.recorder: MissRecorder | None = None  # passthrough's recorder: every adapter that records shares it
        self.faults: FaultPlan | None = None  # the server's fault rules (`--faults`); a session may have its own
        self.faulted_sessions: set[str] = set()  # sessions with their own rules (set_faults): never the fast path

    def session_or_refused(self, session_id: str | None) -> Session:
        """The session a request belongs to, or the refused-requests one for an id that breaks the rule."""
        try:
            return self.sessions.get(session_id)
        except InvalidSessionId:
            return self.refused

    async def answer(
        self, session_id: str | None, request: Request, forward_miss: bool = True
    ) -> tuple[Session, Outcome]:
        """The answer in this session; a miss goes to `on_miss` unless the adapter answers its own misses
        (`forward_miss=False`: MCP, whose passthrough talks to an MCP server, not an HTTP target)."""
        try:
            session = self.sessions.get(session_id)
        except InvalidSessionId as exc:  # answered (400) and journaled under INVALID_SESSION, never stored
            return self.refused, invalid_session(request, exc)
        plan = session.faults if session.faults is not None else self.faults
        if plan is not None:
            hit = plan.decide(session.id, session.counters, request.method, request.path)
            if hit is not None:
                return session, await self.faulted(session, request, hit, forward_miss)
        if not is_heavy(request, self.limits):
            outcome = self.engine.handle(request, session.state)
        else:  # inflated, parsed and hashed on a worker thread; 413 past the limits
            outcome = await handle_off_loop(self.engine, request, session.state, self.limits)
        if outcome.response.status == TOO_LARGE_STATUS and outcome.interaction is None:
            return session, outcome
        if not outcome.matched and forward_miss and self.on_miss is not None:
            outcome = await self.on_miss(request)
        return session, outcome

    async def replayed(self, session: Session, request: Request, forward_miss: bool) -> Outcome:
        """`answer`'s replay part for a faulted call (a recording, the model, a miss or passthrough); the hot
        path keeps its own copy inline, one coroutine fewer per request."""
        if is_heavy(request, self.limits):  # inflated, parsed and hashed on a worker thread; 413 past the limits
            outcome = await handle_off_loop(self.engine, request, session.state, self.limits)
        else:
            outcome = self.engine.handle(request, session.state)
        if outcome.response.status == TOO_LARGE_STATUS and outcome.interaction is None:
            return outcome
        if not outcome.matched and forward_miss and self.on_miss is not None:
            outcome = await self.on_miss(request)
        return outcome

    async def faulted(self, session: Session, request: Request, hit: FaultHit, forward_miss: bool) -> Outcome:
        """The call under the fault that fired: delayed, then answered in its place (its state unchanged) or
        answered by replay and broken; the adapters act out what is theirs (drop, cut, stall, never answer)."""
        if hit.delay_s > 0:
            await asyncio.sleep(hit.delay_s)
        if hit.before_answer:
            return Outcome(request, fault_response(hit), None, fault=hit)
        outcome = await self.replayed(session, request, forward_miss)
        fault = hit.fault
        if fault is not None and fault.kind in ("truncate", "malformed"):
            outcome.response = broken_body(outcome.response, fault)  # type: ignore[arg-type]
        outcome.fault = hit
        return outcome

    def set_faults(self, session_id: str, plan: FaultPlan | None) -> FaultPlan | None:
        """(On the loop.) Give a session its own fault rules (None: back to the server's); returns the ones it had.
        Its rule counters start again, so `nth` counts from here."""
        session = self.sessions.get(session_id)
        previous, session.faults = session.faults, plan
        session.counters.clear()
        if plan is None:
            self.faulted_sessions.discard(session.id)
        else:
            self.faulted_sessions.add(session.id)  # the fast path hands every request to the async path
        return previous

    def answer_now(self, session_id: str | None, request: Request) -> tuple[Session, Outcome] | None:
        """The answer to a request that is not heavy (`limits.is_heavy`), without a miss handler's forwarding:
        no await, so the HTTP/1.1 fast path answers it within the read that completed it. None while fault
        rules are set (the server's or any session's): a fault may delay or drop the answer, which is the
        async path's to act out."""
        if self.faults is not None or self.faulted_sessions:
            return None
        try:
            session = self.sessions.get(session_id)
        except InvalidSessionId as exc:
            return self.refused, invalid_session(request, exc)
        return session, self.engine.handle(request, session.state)

    def journaled(
        self,
        session: Session,
        outcome: Outcome,
        started: float,
        clock: float,
        kind: str = "http",
        parent: int | None = None,
    ) -> int:
        """Number the call in its session and hand it to the journal (no I/O here); returns its seq."""
        seq = session.next_seq()
        if outcome.fault is not None:
            kind = "fault"
        if self.journal is not None:
            elapsed = (time.perf_counter() - clock) * 1000
            self.journal.record(session.id, seq, started, elapsed, outcome, kind, parent)
        if self.on_outcome is not None:
            self.on_outcome(session.id, outcome)
        return seq

    def close(self) -> None:
        """Flush the journal and what passthrough recorded (a clean stop loses nothing)."""
        if self.journal is not None:
            self.journal.close()
        if self.recorder is not None:
            self.recorder.close()
