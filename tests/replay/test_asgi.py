"""The bare ASGI adapter over a real uvicorn socket: sessions by prefix and header, exact headers, streams."""

from __future__ import annotations

import httpx
import pytest

from hudproxy.cassette import Cassette
from hudproxy.interaction import Chunk, Response
from hudproxy.replay import ReplayEngine
from hudproxy.replay.asgi import ReplayApp
from hudproxy.testing import make_interaction, make_request, make_response
from tests.replay.servers import serve_replay

pytestmark = pytest.mark.usefixtures("replay_server")
GET_A1 = make_request("GET", "http://api.test/orders/A1")
PATCH_A1 = make_request("PATCH", "http://api.test/orders/A1", json={"status": "shipped"})


def shop_app() -> ReplayApp:
    sse = Response(
        200,
        "OK",
        (("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")),
        b"data: 1\n\ndata: 2\n\n",
        (Chunk(9, 0.0), Chunk(9, 30.0)),
    )
    interactions = [
        make_interaction(GET_A1, make_response(body=b"pending", headers=(("X-Custom", "a"), ("X-Custom", "b")))),
        make_interaction(PATCH_A1, make_response(body=b"patched")),
        make_interaction(GET_A1, make_response(body=b"shipped")),
        make_interaction(make_request("GET", "http://api.test/events"), sse),
    ]
    interactions = [make_interaction(i.request, i.response, index=n) for n, i in enumerate(interactions)]
    return ReplayApp(ReplayEngine.from_cassette(Cassette(interactions)))


def test_sessions_by_path_prefix_and_header_are_isolated() -> None:
    with serve_replay(shop_app()) as base, httpx.Client(base_url=base, trust_env=False) as client:
        assert client.patch("/s/alice/orders/A1", json={"status": "shipped"}).text == "patched"
        assert client.get("/s/alice/orders/A1").text == "shipped"
        assert client.get("/s/bob/orders/A1").text == "pending"
        assert client.get("/orders/A1", headers={"X-Hudproxy-Session": "alice"}).text == "shipped"
        assert client.get("/orders/A1").text == "pending"


def test_recorded_headers_are_replayed_exactly() -> None:
    with serve_replay(shop_app()) as base:
        response = httpx.get(f"{base}/orders/A1", trust_env=False)
    assert response.headers.get_list("x-custom") == ["a", "b"]
    assert "server" not in response.headers and "date" not in response.headers


def test_streamed_body_is_sent_in_its_recorded_chunks() -> None:
    with serve_replay(shop_app()) as base, httpx.stream("GET", f"{base}/events", trust_env=False) as response:
        pieces = [piece for piece in response.iter_raw() if piece]
    assert b"".join(pieces) == b"data: 1\n\ndata: 2\n\n"
    assert response.headers["content-type"] == "text/event-stream"


def test_unmatched_over_http_is_501_json() -> None:
    with serve_replay(shop_app()) as base:
        response = httpx.post(f"{base}/orders", json={"x": 1}, trust_env=False)
    assert response.status_code == 501
    assert response.headers["x-hudproxy-unmatched"] == "1"
    assert response.json()["request"] == {"method": "POST", "path": "/orders", "query": ""}
