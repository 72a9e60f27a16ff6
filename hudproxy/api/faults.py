"""`session.inject(...)`: fault rules on one session for the length of a `with` (or `async with`) block."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any

from hudproxy.faults.load import faults_from
from hudproxy.faults.plan import FaultPlan

if TYPE_CHECKING:
    from hudproxy.api.server import ReplayServer


def plan_of(faults: Any = None, seed: int | None = None, **rule: Any) -> FaultPlan:
    """The rules `inject` was given: a faults file path, `{seed, rules}`, a list of rules, or one rule's fields
    as keywords (`inject(match={"path": "/orders"}, nth=1, fault={"kind": "status", "status": 429})`)."""
    if faults is not None and rule:
        raise TypeError("inject(): give a faults file/rules or one rule's fields as keywords, not both")
    if faults is None:
        faults = [rule] if rule else []
    if isinstance(faults, list | tuple):
        faults = {"rules": list(faults)}
    if seed is not None:
        if not isinstance(faults, dict):
            raise TypeError("inject(seed=...): give the rules as data (a list or a dict), the file has its own seed")
        faults = {**faults, "seed": seed}
    plan = faults_from(faults, "inject()")
    assert plan is not None
    return plan


class Injection:
    """Sets the session's rules on entry and gives back the ones it had on exit (the server's, usually)."""

    def __init__(self, server: ReplayServer, session_id: str, plan: FaultPlan) -> None:
        self.server = server
        self.session_id = session_id
        self.plan = plan
        self._previous: FaultPlan | None = None

    def _set(self, plan: FaultPlan | None) -> FaultPlan | None:
        return self.server.app.service.set_faults(self.session_id, plan)

    def __enter__(self) -> FaultPlan:
        self._previous = self.server.call(lambda: self._set(self.plan))
        return self.plan

    def __exit__(self, *exc: object) -> None:
        self.server.call(lambda: self._set(self._previous))

    async def __aenter__(self) -> FaultPlan:
        self._previous = await asyncio.wrap_future(self.server.submit(lambda: self._set(self.plan)))
        return self.plan

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.wrap_future(self.server.submit(lambda: self._set(self._previous)))
