"""run_scope: the one shape every pattern shares; a run's database is released on every exit path."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager

import pytest

from hudproxy.databases import IsolationError, RunDatabase, run_scope


class FakeDatabase:
    """Counts handles out and back; can be told to report broken isolation on release."""

    def __init__(self, *, broken: bool = False) -> None:
        self.out: set[int] = set()
        self.released: list[int] = []
        self.broken = broken
        self._next = 0

    async def acquire(self) -> int:
        self._next += 1
        self.out.add(self._next)
        return self._next

    async def release(self, handle: int) -> None:
        await asyncio.sleep(0.01)  # a release that takes a while, like a network rollback
        self.out.remove(handle)
        self.released.append(handle)
        if self.broken:
            raise IsolationError("the run committed")

    def run(self) -> AbstractAsyncContextManager[int]:
        return run_scope(self)


def test_the_fake_is_a_run_database() -> None:
    assert isinstance(FakeDatabase(), RunDatabase)


@pytest.mark.parametrize("ending", ["return", "raise", "cancel"])
def test_every_ending_releases(ending: str) -> None:
    db = FakeDatabase()

    async def body() -> None:
        async with db.run() as handle:
            assert db.out == {handle}
            if ending == "raise":
                raise KeyError("tool")
            if ending == "cancel":
                await asyncio.sleep(30)

    async def main() -> None:
        task = asyncio.create_task(body())
        await asyncio.sleep(0.01)
        if ending == "cancel":
            task.cancel()
        expected = {"return": None, "raise": KeyError, "cancel": asyncio.CancelledError}[ending]
        if expected is None:
            await task
        else:
            with pytest.raises(expected):
                await task

    asyncio.run(main())
    assert (db.out, db.released) == (set(), [1])


def test_broken_isolation_raises_after_a_clean_run() -> None:
    async def main() -> None:
        async with FakeDatabase(broken=True).run():
            pass

    with pytest.raises(IsolationError):
        asyncio.run(main())


def test_broken_isolation_does_not_hide_the_runs_own_error(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with FakeDatabase(broken=True).run():
            raise KeyError("tool")

    with caplog.at_level(logging.ERROR), pytest.raises(KeyError):
        asyncio.run(main())
    assert "the run committed" in caplog.text
