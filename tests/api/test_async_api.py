"""The async Python API, and 500 concurrent sessions on one replay server that never see each other's writes."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from hudproxy import AsyncSession, Replay
from hudproxy.journal import sessions_in

SESSIONS = 500
CONNECTIONS = 8  # httpx's pool slows down sharply with hundreds of queued requests: queue here instead


def test_the_async_form(shop_cassette: Path) -> None:
    async def run() -> None:
        async with Replay(shop_cassette) as proxy:
            session = await proxy.session()
            async with httpx.AsyncClient(base_url=session.base_url, trust_env=False) as http:
                await http.post("/auth/token", json={"user": "ada"})
                await http.post("/refunds", json={"order": "A1", "amount": 5, "reason": "late"})
            session.assert_called_before(("POST", "/auth/token"), ("POST", "/refunds"))
            with pytest.raises(AssertionError, match=r"(?m)^  expected: PATCH /orders/A1$"):
                session.assert_called("PATCH", "/orders/A1")
            assert [s.id for s in proxy.sessions()] == [session.id]
            await session.close()
            assert proxy.sessions() == []
            assert session.calls().call_count == 2  # the journal outlives the session

    asyncio.run(run())


class Agent:
    """One session's client: ships its orders, reads one it did not ship, and notes every wrong state it sees."""

    def __init__(self, http: httpx.AsyncClient, gate: asyncio.Semaphore, session: AsyncSession) -> None:
        self.http, self.gate, self.session = http, gate, session
        self.sent = 0
        self.wrong: list[str] = []

    async def request(self, method: str, order: str, **kwargs: Any) -> str:
        async with self.gate:
            response = await self.http.request(method, f"{self.session.base_url}/orders/{order}", **kwargs)
        self.sent += 1
        return response.json()["status"]

    def expect(self, what: str, status: str, expected: str) -> None:
        if status != expected:
            self.wrong.append(f"{what}: {status}")

    async def run(self, mine: Sequence[str], theirs: str) -> Agent:
        self.expect(f"{mine[0]} before", await self.request("GET", mine[0]), "pending")
        for order in mine:
            await self.request("PATCH", order, json={"status": "shipped"})
            self.expect(f"{order} after", await self.request("GET", order), "shipped")
        self.expect(f"{theirs} (shipped elsewhere)", await self.request("GET", theirs), "pending")
        return self


def plans(order_ids: list[str], count: int) -> list[tuple[tuple[str, ...], str]]:
    """A different set of orders (every single, every pair, then triples) for each session to ship, plus one
    order that other sessions ship."""
    subsets = itertools.chain.from_iterable(itertools.combinations(order_ids, size) for size in (1, 2, 3))
    chosen = list(itertools.islice(subsets, count))
    random.Random(7).shuffle(chosen)
    return [(mine, next(o for o in order_ids if o not in mine)) for mine in chosen]


def test_500_concurrent_sessions_never_see_each_others_writes(orders_cassette: Path, order_ids: list[str]) -> None:
    async def run() -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS)
        gate = asyncio.Semaphore(CONNECTIONS)
        async with Replay(orders_cassette) as proxy, httpx.AsyncClient(limits=limits, trust_env=False) as http:
            agents = [Agent(http, gate, await proxy.session()) for _ in range(SESSIONS)]
            await asyncio.gather(*(a.run(*plan) for a, plan in zip(agents, plans(order_ids, SESSIONS), strict=True)))
            assert [a.wrong for a in agents] == [[]] * SESSIONS
            first_plan = plans(order_ids, SESSIONS)[0]
            assert [c.path for c in agents[0].session.calls(method="PATCH")] == [f"/orders/{o}" for o in first_plan[0]]
            counts = {row["session"]: row["calls"] for row in sessions_in(proxy.journal_path)}
            assert counts == {a.session.id: a.sent for a in agents}

    asyncio.run(run())
