"""The one interface the eval runner needs: give a run its own database, take it back on every exit path.

Each pattern (a copy of a SQLite template, a rolled-back Postgres transaction) implements `acquire` and
`release`; `run_scope` turns that pair into the `async with db.run() as handle:` form, so whatever the pattern,
the runner writes the same two lines and a run that raises or is cancelled still gives its database back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar, runtime_checkable

from hudproxy.databases.errors import IsolationError

H = TypeVar("H")

log = logging.getLogger(__name__)

# Releases that outlived a second cancellation of their run: kept referenced until they finish.
_background: set[asyncio.Future[Any]] = set()


@runtime_checkable
class RunDatabase(Protocol[H]):
    """A source of per-run databases; `H` is what a run works with (a connection)."""

    async def acquire(self) -> H:
        """A database (handle) that belongs to one run until `release`."""
        ...

    async def release(self, handle: H) -> None:
        """Undo whatever the run did and free the handle; safe to call once per `acquire`."""
        ...

    def run(self) -> AbstractAsyncContextManager[H]:
        """`async with db.run() as handle:` acquires, and releases however the block ends."""
        ...


@asynccontextmanager
async def run_scope(db: RunDatabase[H]) -> AsyncIterator[H]:
    """Acquire for the block, release after it: also when the block raises or its task is cancelled.

    The release is shielded, so a second cancellation (a timeout firing during cleanup) cannot leave a run's
    writes behind: the release finishes in the background while the cancellation propagates.
    """
    handle = await db.acquire()
    try:
        yield handle
    except BaseException:
        try:
            await _finish(db.release(handle))
        except IsolationError as exc:  # the block's own exception is the one to see; the broken isolation is logged
            log.error("%s", exc)
        raise
    await _finish(db.release(handle))


async def _finish(release: Awaitable[None]) -> None:
    """Await a release to its end even if the awaiting task is cancelled meanwhile."""
    future = asyncio.ensure_future(release)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        if not future.done():
            _background.add(future)
            future.add_done_callback(_background.discard)
        raise
