"""Redirects stay on the reverse proxy: an upstream's absolute Location (and Content-Location, and Refresh's url=)
pointing at the target is pointed at the proxy, by the name the client used, while recording and in replay; the
cassette keeps what the upstream sent; relative URLs and other hosts are left alone.

httpx and requests follow the redirects themselves, through a real recording proxy and then a real replay server
with the upstream gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from hudproxy.cassette.files import load_cassette
from hudproxy.interaction.headers import header_value
from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread


def redirecting_app(seen: list[str]) -> FastAPI:
    """Absolute redirects built from the Host the upstream received (as real frameworks build them)."""
    app = FastAPI()

    @app.middleware("http")
    async def note(request: Request, call_next: Any) -> Any:
        seen.append(f"{request.method} {request.url.path} host={request.headers.get('host')}")
        return await call_next(request)

    @app.get("/old")
    def old(request: Request) -> Response:
        return RedirectResponse(str(request.url_for("new")), status_code=301)

    @app.get("/new", name="new")
    def new() -> dict[str, str]:
        return {"page": "new"}

    @app.get("/relative")
    def relative() -> Response:
        return RedirectResponse("/new?from=relative", status_code=302)

    @app.get("/elsewhere")
    def elsewhere() -> Response:
        return RedirectResponse("http://elsewhere.test/x", status_code=302)

    @app.get("/described")
    def described(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        headers = {"Content-Location": f"{base}/new", "Refresh": f"3; url={base}/new"}
        return JSONResponse({"page": "described"}, headers=headers)

    @app.get("/streamed-redirect")
    def streamed(request: Request) -> Response:
        async def body() -> Any:
            yield b"moved"

        return StreamingResponse(body(), status_code=302, headers={"Location": f"{request.base_url}new"})

    return app


def by_name(url: str) -> str:
    """The same proxy by the name `localhost`: a redirect must come back by this name, not by 127.0.0.1."""
    return url.replace("127.0.0.1", "localhost")


def check_client_view(base: str) -> None:
    """What httpx and requests see through the proxy at `base` (recording or replaying)."""
    with httpx.Client(base_url=base, trust_env=False, timeout=15, follow_redirects=True) as client:
        followed = client.get("/old")
        assert followed.json() == {"page": "new"} and str(followed.url) == f"{base}/new"
        assert followed.history[0].headers["location"] == f"{base}/new"
        streamed = client.get("/streamed-redirect")
        assert streamed.json() == {"page": "new"}, "a streamed redirect's Location is rewritten too"
        relative = client.get("/relative", follow_redirects=False)
        assert relative.headers["location"] == "/new?from=relative", "relative locations are left as they are"
        elsewhere = client.get("/elsewhere", follow_redirects=False)
        assert elsewhere.headers["location"] == "http://elsewhere.test/x", "other hosts are left as they are"
        described = client.get("/described")
        assert described.headers["content-location"] == f"{base}/new"
        assert described.headers["refresh"] == f"3; url={base}/new"
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(f"{base}/old", timeout=15)
        assert answer.json() == {"page": "new"} and answer.url == f"{base}/new"


@pytest.mark.parametrize("client_name", [True, False], ids=["by-localhost", "by-127.0.0.1"])
def test_redirects_stay_on_the_proxy_while_recording_and_in_replay(client_name: bool, tmp_path: Path) -> None:
    cassette, seen = tmp_path / "redirects.yaml", []
    with serve_in_thread(redirecting_app(seen)) as target:
        with recording_proxy(Recorder(cassette, "all", target=target), target) as proxy:
            check_client_view(by_name(proxy) if client_name else proxy)
        target_host = target.removeprefix("http://")
        assert seen and all(line.endswith(f"host={target_host}") for line in seen), "the upstream got its own Host"

    recorded = {i.request.path: i for i in load_cassette(cassette).interactions}
    assert "/new" in recorded, "the follow-up went through the recorder"
    old = recorded["/old"].response
    assert header_value(old.headers, "location") == f"{target}/new", "the cassette keeps what the upstream sent"
    assert header_value(recorded["/described"].response.headers, "refresh") == f"3; url={target}/new"
    streamed = recorded["/streamed-redirect"].response
    assert streamed.chunks, "it was streamed through the recorder (headers sent before the body arrived)"
    assert header_value(streamed.headers, "location") == f"{target}/new"

    with serve_in_thread(create_replay_app(cassette)) as replay:  # the upstream is gone now
        check_client_view(by_name(replay) if client_name else replay)
        in_session = f"{by_name(replay) if client_name else replay}/s/run-1"
        with httpx.Client(base_url=in_session, trust_env=False, timeout=15, follow_redirects=True) as client:
            followed = client.get("/old")
        assert str(followed.url) == f"{in_session}/new", "a session's redirect stays in the session"
        assert followed.json() == {"page": "new"}
