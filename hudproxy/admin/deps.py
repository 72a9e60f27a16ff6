"""What endpoints are given: the replay service they administer, and a journal that is current when read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from hudproxy.replay.service import ReplayService

NO_JOURNAL = "the journal is disabled (server started with --no-journal); restart without it to record calls."


async def get_service(request: Request) -> ReplayService:
    """Async so FastAPI calls it on the event loop instead of hopping to a worker thread."""
    return request.app.state.service


Service = Annotated[ReplayService, Depends(get_service)]


def current_journal(service: Service) -> Path:
    """The journal's path after writing what is queued, so a read sees every call answered so far.

    A sync dependency: FastAPI runs it in a worker thread, so SQLite I/O never blocks the replay loop.
    """
    if service.journal is None:
        raise HTTPException(409, NO_JOURNAL)
    service.journal.flush()
    return service.journal.path


Journal = Annotated[Path, Depends(current_journal)]
