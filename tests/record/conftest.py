"""Fixtures for end-to-end recording: a live "traffic" upstream, the recording proxy and the replay server.

Everything runs on real loopback sockets: the upstream and the replay server are uvicorn in a thread
(`serve_in_thread`), the recording proxy is a real mitmproxy on a thread (`recording_proxy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from hudproxy.record.background import recording_proxy
from hudproxy.record.misses import record_misses
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

CUSTOM_HEADER = ("X-Custom", "custom-value")
BINARY_BODY = bytes(range(256))[::-1] * 16  # starts with 0xff: never valid UTF-8
LARGE_BODY = b"".join(f"line {i:07d} of the five megabyte body\n".encode() for i in range(5 * 1024 * 1024 // 38 + 1))
CHUNKS = [f"chunk {i}|".encode() for i in range(5)]
SSE_EVENTS = [f'id: {i}\nevent: tick\ndata: {{"n": {i}}}\n\n'.encode() for i in range(4)]
NEAR_MISS_MARKER = "ZEBRA-7731-recorded-only"
RELEASE_TIMEOUT = 5.0
BLOB_SIZE = 256 * 1024


def blob_body(name: str, size: int = BLOB_SIZE) -> bytes:
    """A body of `size` bytes that differs for every name, so a cassette holding the wrong one is caught."""
    line = f"{name} ".encode() * 8 + b"\n"
    return (line * (size // len(line) + 1))[:size]


@dataclass
class Traffic:
    """The live upstream: its base URL, what it saw, and the gate of its /events stream."""

    sse_events: ClassVar[list[bytes]] = SSE_EVENTS
    near_miss_marker: ClassVar[str] = NEAR_MISS_MARKER
    large_size: ClassVar[int] = len(LARGE_BODY)
    release_timeout: ClassVar[float] = RELEASE_TIMEOUT

    url: str
    seen: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    released: list[bool] = field(default_factory=list)

    def stream_gate_opened_in_time(self) -> bool:
        """True when every /events stream was let through by `release`, not by its timeout."""
        return bool(self.released) and all(self.released)


class SeenMiddleware:
    """Pure ASGI wrapper noting `METHOD /path?query` of every request the upstream receives."""

    def __init__(self, app: Any, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            self.seen.append(f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""))
        await self.app(scope, receive, send)


def traffic_app(traffic: Traffic) -> Any:
    """Endpoints for each kind of body, stateful resources, and echoes for matching tests."""
    app = FastAPI()
    state: dict[str, Any] = {"items": {}, "counter": 0, "next_id": 1}

    @app.get("/json")
    def plain_json() -> Response:
        return JSONResponse({"kind": "json", "items": [1, 2, 3], "text": "héllo"}, headers=dict([CUSTOM_HEADER]))

    @app.get("/gzip")
    def gzipped() -> Response:
        body = gzip.compress(json.dumps({"kind": "gzip", "ok": True}).encode(), mtime=0)
        headers = {"Content-Encoding": "gzip", CUSTOM_HEADER[0]: CUSTOM_HEADER[1]}
        return Response(body, media_type="application/json", headers=headers)

    @app.get("/binary")
    def binary() -> Response:
        return Response(BINARY_BODY, media_type="application/octet-stream")

    @app.get("/large")
    def large() -> Response:
        return Response(LARGE_BODY, media_type="text/plain")

    @app.get("/chunked")
    def chunked() -> StreamingResponse:
        async def parts() -> Any:
            for part in CHUNKS:
                yield part
                await asyncio.sleep(0.01)

        return StreamingResponse(parts(), media_type="text/plain", headers=dict([CUSTOM_HEADER]))

    @app.get("/events")
    def events() -> StreamingResponse:
        async def stream() -> Any:
            yield SSE_EVENTS[0]
            traffic.released.append(await asyncio.to_thread(traffic.release.wait, RELEASE_TIMEOUT))
            for event in SSE_EVENTS[1:]:
                await asyncio.sleep(0.02)
                yield event

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/blob/{name}")
    def blob(name: str, size: int = BLOB_SIZE) -> Response:
        return Response(blob_body(name, size), media_type="text/plain")

    @app.get("/blob-stream/{name}")
    def blob_stream(name: str, size: int = BLOB_SIZE) -> StreamingResponse:
        body = blob_body(name, size)

        async def parts() -> Any:
            for start in range(0, len(body), 16 * 1024):
                yield body[start : start + 16 * 1024]

        return StreamingResponse(parts(), media_type="text/plain")  # chunked: the recorder streams it through

    @app.get("/items/{item_id}")
    def get_item(item_id: str) -> dict[str, Any]:
        return {"id": item_id, "status": state["items"].get(item_id, "before")}

    @app.patch("/items/{item_id}")
    async def patch_item(item_id: str, request: Request) -> dict[str, Any]:
        state["items"][item_id] = (await request.json())["status"]
        return {"id": item_id, "status": state["items"][item_id], "patched": True}

    @app.get("/counter")
    def counter() -> dict[str, int]:
        state["counter"] += 1
        return {"count": state["counter"]}

    @app.post("/things", status_code=201)
    def create_thing() -> dict[str, int]:
        thing_id = state["next_id"]
        state["next_id"] += 1
        return {"id": thing_id}

    @app.post("/search")
    async def search(request: Request) -> dict[str, Any]:
        return {"query": await request.json(), "results": ["r1", "r2"]}

    @app.get("/list")
    def listing(request: Request) -> dict[str, Any]:
        return {"params": sorted(request.query_params.multi_items())}

    @app.get("/orders/{order_id}")
    def order(order_id: str, expand: str = "") -> dict[str, Any]:
        return {"id": order_id, "expand": expand, "note": f"order {order_id} for {NEAR_MISS_MARKER}"}

    return SeenMiddleware(app, traffic.seen)


@contextlib.contextmanager
def running_traffic() -> Iterator[Traffic]:
    """A fresh traffic upstream (fresh state) on a free loopback port, stopped on exit."""
    traffic = Traffic(url="")
    with serve_in_thread(traffic_app(traffic)) as url:
        traffic.url = url
        try:
            yield traffic
        finally:
            traffic.release.set()  # never leave an /events stream waiting on its gate while the server stops


def client_for(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, trust_env=False, timeout=15.0)


@contextlib.contextmanager
def recording(path: Path, target: str, mode: str = "all", **options: Any) -> Iterator[httpx.Client]:
    """An httpx client talking to a real recording proxy in front of `target`; the cassette is flushed on exit."""
    recorder = Recorder(path, mode, target=target, **options)
    with recording_proxy(recorder, target) as proxy_url, client_for(proxy_url) as client:
        yield client


@contextlib.contextmanager
def replaying(path: Path, **options: Any) -> Iterator[httpx.Client]:
    """An httpx client talking to a real replay server (uvicorn in a thread) for the cassette at `path`."""
    options.setdefault("record_misses", record_misses)  # what the CLI and the Python API pass
    with serve_in_thread(create_replay_app(path, ReplayOptions(**options))) as url, client_for(url) as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
def _session_compiled_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module-scoped recordings run before the per-test cache fixture: keep them off ~/.cache too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUDPROXY_CACHE_DIR", str(tmp_path_factory.mktemp("record-cache")))
        yield


@pytest.fixture
def traffic() -> Iterator[Traffic]:
    """The live traffic upstream for one test."""
    with running_traffic() as live:
        yield live


@pytest.fixture(scope="session")
def start_traffic() -> Callable[[], contextlib.AbstractContextManager[Traffic]]:
    """`with start_traffic() as traffic:` for tests that stop the upstream before replaying."""
    return running_traffic


@pytest.fixture(scope="session")
def record() -> Callable[..., contextlib.AbstractContextManager[httpx.Client]]:
    """`with record(path, target, mode="all") as client:` sends requests through a recording proxy."""
    return recording


@pytest.fixture(scope="session")
def replay() -> Callable[..., contextlib.AbstractContextManager[httpx.Client]]:
    """`with replay(path, **create_replay_app_options) as client:` sends requests to a replay server."""
    return replaying


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """Where this test's cassette goes (not created yet)."""
    return tmp_path / "traffic.yaml"

