"""A streamed answer that `--unmatched passthrough` forwards is recorded event by event, with each piece's arrival
time, as the recording proxy records one: replayed chunk by chunk, and at its pace with stream timing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from hudproxy.api.replay import Replay
from hudproxy.cassette.files import load_cassette, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.serving import serve_in_thread

EVENTS = [f"data: {json.dumps({'n': n})}\n\n".encode() for n in range(5)]


def sse_upstream() -> FastAPI:
    app = FastAPI()

    @app.get("/events")
    async def events() -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            for event in EVENTS:
                await asyncio.sleep(0.02)
                yield event

        return StreamingResponse(pieces(), media_type="text/event-stream")

    return app


def test_a_forwarded_stream_is_recorded_chunk_by_chunk(tmp_path: Path) -> None:
    cassette = save_cassette(Cassette(), tmp_path / "stream.yaml")
    with serve_in_thread(sse_upstream()) as upstream, Replay(cassette, unmatched="passthrough", target=upstream) as rp:
        forwarded = httpx.get(f"{rp.base_url}/events")
    assert forwarded.content == b"".join(EVENTS)
    (recorded,) = load_cassette(cassette).interactions
    chunks = recorded.response.chunks
    assert len(chunks) > 1 and sum(c.size for c in chunks) == len(recorded.response.body)  # (a busy machine
    # may read two events at once: their boundaries are the reads, as the recording proxy keeps them)
    assert [c.at_ms for c in chunks] == sorted(c.at_ms for c in chunks) and chunks[-1].at_ms >= 60
    with Replay(cassette, stream_timing=True) as replay, httpx.stream("GET", f"{replay.base_url}/events") as answer:
        pieces = list(answer.iter_raw())
    assert len(pieces) > 1 and b"".join(pieces) == b"".join(EVENTS)  # the upstream is gone: piece by piece
