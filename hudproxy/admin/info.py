"""What is loaded and what is left: health, the cassette, and interactions no live session was served."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter

from hudproxy.admin.deps import Service
from hudproxy.admin.models import CassetteOut, HealthOut, MatchOut, UnusedOut
from hudproxy.cassette.lazy import request_lines

router = APIRouter(tags=["server"])


@router.get("/health", response_model=HealthOut)
async def health(service: Service) -> HealthOut:
    journal = service.journal
    return HealthOut(
        interactions=len(service.engine.index),
        sessions=len(service.sessions),
        journal=str(journal.path) if journal is not None else None,
    )


@router.get("/cassette", response_model=CassetteOut)
async def cassette(service: Service) -> CassetteOut:
    index = service.engine.index
    loaded = service.cassette
    methods = Counter(method.upper() for method, _ in request_lines(index.interactions))
    statuses = Counter(str(i.response.status) for i in index.interactions)
    return CassetteOut(
        path=str(loaded.path) if loaded is not None and loaded.path is not None else None,
        interactions=len(index),
        match=MatchOut(**index.policy.to_dict()),
        meta=loaded.meta if loaded is not None else {},
        by_method=dict(sorted(methods.items())),
        by_status=dict(sorted(statuses.items())),
    )


@router.get("/unused", response_model=list[UnusedOut])
async def unused(service: Service) -> list[UnusedOut]:
    """Interactions no live session was served: recordings the run under test never needed (or never reached)."""
    served: set[int] = set()
    for session in service.sessions:
        served |= session.state.used
    return [
        UnusedOut(index=position, method=method, url=url)
        for position, (method, url) in enumerate(request_lines(service.engine.index.interactions))
        if position not in served
    ]  # from each request's line: a memory-mapped cassette is not read whole to list what was not served
