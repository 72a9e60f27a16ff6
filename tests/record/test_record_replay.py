"""Record through the real proxy, stop the upstream, replay from the cassette: the client cannot tell the difference."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hudproxy.cassette.files import load_cassette
from hudproxy.matching.policy import MatchPolicy
from hudproxy.netutil import free_port
from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder

BODY_KINDS = {
    "json": "/json",
    "gzip": "/gzip",
    "binary": "/binary",
    "large": "/large",
    "chunked": "/chunked",
    "events": "/events",
}
MEANINGFUL_HEADERS = ("content-type", "content-encoding", "content-length", "transfer-encoding", "cache-control",
                      "x-custom")  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """What a client saw: status, headers (lowercased names, wire order) and the raw, still-encoded body."""

    status: int
    headers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def meaningful_headers(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.headers if k in MEANINGFUL_HEADERS]

    def json(self) -> Any:
        return json.loads(self.raw)


def fetch(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Answer:
    """Send a request and read the body undecoded (gzip stays gzip)."""
    with client.stream(method, url, **kwargs) as response:
        raw = b"".join(response.iter_raw())
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw]
        return Answer(response.status_code, headers, raw)


def sse_events(raw: bytes) -> list[bytes]:
    return [event.strip() for event in raw.split(b"\n\n") if event.strip()]


# ---------------------------------------------------------------- every kind of body


@dataclass
class Recorded:
    path: Path
    live: dict[str, Answer]
    traffic: Any


@pytest.fixture(scope="module")
def bodies(tmp_path_factory: pytest.TempPathFactory, start_traffic: Any, record: Any) -> Recorded:
    """One recording of every body kind; the upstream is stopped before any test replays it."""
    path = tmp_path_factory.mktemp("bodies") / "bodies.yaml"
    with start_traffic() as traffic:
        traffic.release.set()  # the gate of /events has its own test below
        with record(path, traffic.url) as client:
            live = {kind: fetch(client, "GET", url) for kind, url in BODY_KINDS.items()}
    return Recorded(path, live, traffic)


@pytest.fixture(scope="module")
def replayed(bodies: Recorded, replay: Any) -> Iterator[dict[str, Answer]]:
    with replay(bodies.path) as client:
        yield {kind: fetch(client, "GET", url) for kind, url in BODY_KINDS.items()}


def test_the_recording_saw_each_kind_of_body(bodies: Recorded) -> None:
    live = bodies.live
    assert {kind: answer.status for kind, answer in live.items()} == dict.fromkeys(BODY_KINDS, 200)
    assert live["json"].json()["text"] == "héllo"
    assert live["gzip"].header("content-encoding") == "gzip"
    assert json.loads(gzip.decompress(live["gzip"].raw)) == {"kind": "gzip", "ok": True}
    with pytest.raises(UnicodeDecodeError):
        live["binary"].raw.decode("utf-8")
    assert len(live["large"].raw) == bodies.traffic.large_size >= 5 * 1024 * 1024
    for streamed in ("chunked", "events"):
        assert live[streamed].header("content-length") is None
        assert live[streamed].header("transfer-encoding") == "chunked"
    assert (live["events"].header("content-type") or "").startswith("text/event-stream")


@pytest.mark.parametrize("kind", list(BODY_KINDS))
def test_replayed_answer_equals_the_recorded_one(kind: str, bodies: Recorded, replayed: dict[str, Answer]) -> None:
    live, again = bodies.live[kind], replayed[kind]
    assert again.status == live.status
    assert again.meaningful_headers() == live.meaningful_headers()
    assert len(again.raw) == len(live.raw)
    assert again.raw == live.raw


def test_replayed_event_stream_yields_the_same_events(bodies: Recorded, replayed: dict[str, Answer]) -> None:
    expected = [event.strip() for event in bodies.traffic.sse_events]
    assert sse_events(bodies.live["events"].raw) == expected
    assert sse_events(replayed["events"].raw) == expected


def test_streamed_bodies_keep_their_chunks_in_the_cassette(bodies: Recorded) -> None:
    data = yaml.load(bodies.path.read_bytes(), Loader=yaml.CSafeLoader)
    by_path = {item["request"]["uri"].rsplit("/", 1)[-1]: item for item in data["interactions"]}
    for name in ("chunked", "events"):
        chunks = by_path[name]["hudproxy"]["chunks"]
        assert len(chunks) >= 2, f"/{name} was recorded as one piece: {chunks}"
        assert sum(size for size, _ in chunks) == len(bodies.live[name].raw)
        assert [at for _, at in chunks] == sorted(at for _, at in chunks)
    assert "chunks" not in by_path["json"]["hudproxy"]


def test_events_reach_the_client_while_the_upstream_is_still_streaming(
    traffic: Any, record: Any, cassette: Path
) -> None:
    """The upstream holds its later events until the test has read the first one through the proxy."""
    with record(cassette, traffic.url) as client, client.stream("GET", "/events") as response:
        pieces = response.iter_raw()
        first = b""
        started = time.monotonic()
        while b"\n\n" not in first:
            first += next(pieces)
        waited = time.monotonic() - started
        assert traffic.released == [], "the first event arrived only after the upstream had finished the stream"
        traffic.release.set()
        rest = b"".join(pieces)
    assert waited < traffic.release_timeout
    assert traffic.stream_gate_opened_in_time()
    assert first + rest == b"".join(traffic.sse_events)
    assert len(load_cassette(cassette).interactions[0].response.chunks) >= 2


# ---------------------------------------------------------------- state-aware replay


def test_reads_replay_the_state_before_a_write_until_the_write_is_replayed(
    start_traffic: Any, record: Any, replay: Any, cassette: Path
) -> None:
    with start_traffic() as traffic, record(cassette, traffic.url) as client:
        assert client.get("/items/1").json()["status"] == "before"
        assert client.patch("/items/1", json={"status": "after"}).status_code == 200
        assert client.get("/items/1").json()["status"] == "after"
    with replay(cassette) as client:
        assert [client.get("/items/1").json()["status"] for _ in range(3)] == ["before"] * 3
        assert client.patch("/items/1", json={"status": "after"}).json()["patched"] is True
        assert client.get("/items/1").json()["status"] == "after"


def test_the_same_read_recorded_several_times_plays_in_order_then_the_last_repeats(
    start_traffic: Any, record: Any, replay: Any, cassette: Path
) -> None:
    with start_traffic() as traffic, record(cassette, traffic.url) as client:
        assert [client.get("/counter").json()["count"] for _ in range(3)] == [1, 2, 3]
    with replay(cassette) as client:
        assert [client.get("/counter").json()["count"] for _ in range(5)] == [1, 2, 3, 3, 3]


def test_a_post_recorded_twice_replays_its_answers_in_order(
    start_traffic: Any, record: Any, replay: Any, cassette: Path
) -> None:
    with start_traffic() as traffic, record(cassette, traffic.url) as client:
        assert [client.post("/things").json()["id"] for _ in range(2)] == [1, 2]
    with replay(cassette) as client:
        first, second = client.post("/things"), client.post("/things")
    assert (first.status_code, first.json()) == (201, {"id": 1})
    assert (second.status_code, second.json()) == (201, {"id": 2})


# ---------------------------------------------------------------- matching


@pytest.fixture(scope="module")
def requests_cassette(tmp_path_factory: pytest.TempPathFactory, start_traffic: Any, record: Any) -> Path:
    """Requests that differ in body key order, query order, volatile fields; plus a distinctive near miss."""
    path = tmp_path_factory.mktemp("matching") / "matching.yaml"
    with start_traffic() as traffic, record(path, traffic.url) as client:
        client.post("/search", json={"a": 1, "b": {"c": 2, "d": 3}})
        client.get("/list?a=1&b=2&b=3")
        client.get("/list?page=1&ts=111")
        client.post("/search", json={"q": "shoes", "request_id": "r-1"})
        client.get("/orders/A1?expand=items")
        client.post("/search", json={"q": "hats", "limit": 10})
    return path


def index_of(path: Path, described: str) -> int:
    return next(i.index for i in load_cassette(path).interactions if i.request.describe() == described)


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("policy", "method", "url", "body", "status"),
    [
        pytest.param({}, "POST", "/search", b'{"b": {"d": 3, "c": 2}, "a": 1}', 200, id="json-key-order-ignored"),
        pytest.param({}, "GET", "/list?b=3&a=1&b=2", None, 200, id="query-order-ignored"),
        pytest.param({}, "GET", "/list?b=3&a=1", None, 501, id="query-multiset-counts"),
        pytest.param({}, "GET", "/list?page=1&ts=999", None, 501, id="ts-differs-by-default"),
        pytest.param({"ignore_query": ["ts"]}, "GET", "/list?page=1&ts=999", None, 200, id="ts-ignored"),
        pytest.param({"ignore_query": ["ts"]}, "GET", "/list?page=1", None, 200, id="ts-ignored-when-absent"),
        pytest.param({"ignore_query": ["ts"]}, "GET", "/list?page=2&ts=999", None, 501, id="ts-ignored-page-counts"),
        pytest.param({}, "POST", "/search", b'{"q": "shoes", "request_id": "r-2"}', 501, id="request-id-differs"),
        pytest.param({"ignore_json_fields": ["request_id"]}, "POST", "/search", b'{"q": "shoes", "request_id": "r-2"}',
                     200, id="request-id-ignored"),
        pytest.param({"ignore_json_fields": ["request_id"]}, "POST", "/search", b'{"q": "boots", "request_id": "r-2"}',
                     501, id="request-id-ignored-q-still-counts"),
    ],
)  # fmt: skip
def test_matching_policy_decides_what_counts(
    requests_cassette: Path, replay: Any, policy: dict[str, Any], method: str, url: str, body: bytes | None, status: int
) -> None:
    match = MatchPolicy.build(**policy) if policy else None
    with replay(requests_cassette, match=match) as client:
        answer = client.request(method, url, content=body, headers=JSON if body else None)
    assert answer.status_code == status, answer.text
    assert ("x-hudproxy-unmatched" in answer.headers) is (status == 501)


def test_a_match_answers_with_that_recording(requests_cassette: Path, replay: Any) -> None:
    with replay(requests_cassette, match=MatchPolicy.build(ignore_json_fields=["request_id"])) as client:
        answer = client.post("/search", json={"request_id": "r-9", "q": "shoes"})
    assert answer.json() == {"query": {"q": "shoes", "request_id": "r-1"}, "results": ["r1", "r2"]}


# ---------------------------------------------------------------- unmatched requests


def test_unmatched_request_gets_a_compact_501_without_any_recorded_body(requests_cassette: Path, replay: Any) -> None:
    with replay(requests_cassette) as client:
        answer = client.get("/orders/A1?expand=customer")
    assert answer.status_code == 501
    assert answer.headers["x-hudproxy-unmatched"] == "1"
    assert answer.headers["content-type"] == "application/json"
    payload = answer.json()
    assert "GET /orders/A1?expand=customer" in payload["message"]
    assert "not available" in payload["message"]
    assert payload["request"] == {"method": "GET", "path": "/orders/A1", "query": "expand=customer"}
    assert "\n" not in answer.text and len(answer.content) < 400
    assert "ZEBRA-7731" not in answer.text  # the near miss's distinctive body
    for interaction in load_cassette(requests_cassette).interactions:
        assert interaction.response.body not in answer.content


@pytest.mark.parametrize(
    ("method", "url", "body", "nearest", "nearest_body", "differs"),
    [
        pytest.param("GET", "/orders/A1?expand=customer", None, "GET /orders/A1?expand=items", b"",
                     'query expand: "customer" (recorded "items")', id="query-key"),
        pytest.param("POST", "/search", {"q": "hats", "limit": 20}, "POST /search", b"hats",
                     "body.limit: 20 (recorded 10)", id="body-field"),
    ],
)  # fmt: skip
def test_the_log_names_the_nearest_recording_and_what_differs(
    requests_cassette: Path,
    replay: Any,
    caplog: pytest.LogCaptureFixture,
    method: str,
    url: str,
    body: Any,
    nearest: str,
    nearest_body: bytes,
    differs: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="hudproxy.replay")
    with replay(requests_cassette) as client:
        assert client.request(method, url, json=body).status_code == 501
    messages = [r.getMessage() for r in caplog.records if r.name == "hudproxy.replay" and r.levelno == logging.WARNING]
    assert len(messages) == 1
    lines = [line.strip() for line in messages[0].splitlines()]
    assert lines[0].startswith(f"unmatched: {method} {url}")
    index = next(
        i.index
        for i in load_cassette(requests_cassette).interactions
        if i.request.describe() == nearest and nearest_body in i.request.body
    )
    assert lines[1] == f"#1 nearest: interaction {index}: {nearest}"
    assert lines[2] == f"differs: {differs}"


# ---------------------------------------------------------------- passthrough


def test_passthrough_forwards_a_miss_to_the_live_upstream_and_appends_it(
    traffic: Any, record: Any, replay: Any, cassette: Path
) -> None:
    with record(cassette, traffic.url) as client:
        recorded = client.get("/json").json()
    seen_while_recording = list(traffic.seen)
    with replay(cassette, unmatched="passthrough", target=traffic.url) as client:
        known = client.get("/json")
        assert traffic.seen == seen_while_recording, "a known request reached the upstream"
        live = client.get("/items/7")
    assert known.json() == recorded
    assert traffic.seen[len(seen_while_recording) :] == ["GET /items/7"]
    assert live.status_code == 200 and "x-hudproxy-unmatched" not in live.headers
    assert live.json() == {"id": "7", "status": "before"}
    interactions = wait_for_interactions(cassette, 2)
    assert interactions[-1].request.path == "/items/7"
    assert json.loads(interactions[-1].response.body) == live.json()


def test_a_clean_stop_writes_what_passthrough_recorded_and_leaves_an_unchanged_cassette_alone(
    traffic: Any, record: Any, replay: Any, cassette: Path
) -> None:
    with record(cassette, traffic.url) as client:
        client.get("/json")
    before = cassette.read_bytes()
    with replay(cassette, unmatched="passthrough", target=traffic.url) as client:
        assert client.get("/json").status_code == 200  # known: nothing new to write
    assert cassette.read_bytes() == before  # not rewritten at stop
    with replay(cassette, unmatched="passthrough", target=traffic.url) as client:
        assert client.get("/items/7").status_code == 200
    # the server has stopped: the new interaction is in the file now, without waiting for the writer's thread
    assert [i.request.path for i in load_cassette(cassette).interactions][-1] == "/items/7"


def wait_for_interactions(path: Path, count: int, timeout: float = 5.0) -> list[Any]:
    """The cassette writer flushes on its own thread: poll the file, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        interactions = load_cassette(path).interactions
        if len(interactions) >= count or time.monotonic() > deadline:
            assert len(interactions) == count
            return interactions
        time.sleep(0.05)


# ---------------------------------------------------------------- robustness


def test_an_error_logged_by_another_thread_does_not_stop_the_proxy(traffic: Any) -> None:
    """In a test suite, an agent harness or an app embedding hudproxy, other threads log errors at any time.

    Seen for real: an asyncio "Task was destroyed but it is pending!" from an earlier proxy's loop, logged while
    the next `recording_proxy` started, made that proxy exit: its client then hung until the read timeout.
    """
    from hudproxy.proxy.runner import run_proxy

    port, masters, exits, quiet = free_port(), [], [], threading.Event()

    def noise() -> None:
        while not quiet.is_set():
            with contextlib.suppress(RuntimeError):  # a dead master's log handler: "Event loop is closed"
                logging.getLogger("tests.elsewhere").error("an unrelated error in another thread")
            time.sleep(0.002)

    def proxy() -> None:
        mode = f"reverse:{traffic.url}"
        try:
            asyncio.run(run_proxy([], mode, "127.0.0.1", port, on_master=masters.append, handle_signals=False))
        except SystemExit as exc:
            exits.append(exc.code)

    root_handlers = set(logging.getLogger().handlers)
    noisy = threading.Thread(target=noise, daemon=True)
    runner = threading.Thread(target=proxy, daemon=True)
    noisy.start()
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while runner.is_alive() and not port_open(port) and time.monotonic() < deadline:
            time.sleep(0.02)
        quiet.set()
        time.sleep(0.3)  # past the proxy's last startup check
        assert exits == [], "mitmproxy's errorcheck called sys.exit() in the proxy thread"
        assert runner.is_alive(), "the proxy thread ended during startup"
        with httpx.Client(trust_env=False, timeout=5) as client:
            assert client.get(f"http://127.0.0.1:{port}/json").status_code == 200
    finally:
        quiet.set()
        if masters and runner.is_alive():
            masters[0].shutdown()
        runner.join(10)
        noisy.join(5)
        for stale in set(logging.getLogger().handlers) - root_handlers:  # left by a master that never reached done()
            logging.getLogger().removeHandler(stale)


def test_stopping_the_proxy_under_an_open_keep_alive_connection_logs_no_error(
    traffic: Any, cassette: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Python 3.11 logs "Exception in callback ... CancelledError" when a client handler is cancelled at shutdown
    (fixed in 3.12); `hudproxy demo` printed that traceback in about half its runs."""
    caplog.set_level(logging.WARNING)
    with httpx.Client(trust_env=False, timeout=10) as client:
        with recording_proxy(Recorder(cassette, "all", target=traffic.url), traffic.url) as proxy:
            assert client.get(f"{proxy}/json").status_code == 200
        errors = [f"{r.name}: {r.getMessage()[:100]}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert len(load_cassette(cassette).interactions) == 1


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
