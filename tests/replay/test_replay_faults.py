"""Fault rules on a real replay server of the recorded shop (cassettes/shop.yaml): a `hudproxy replay --faults`
process and an httpx client with a retry loop; the Python API (same seed, same faults; `session.inject`); the
admin API's per-session rules. Every fault is journaled as `fault` with its rule, and the journal assertions tell
a client that retries well from one that repeats a write blindly."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from hudproxy import Replay
from hudproxy.journal.assertions import CallSpec, assert_not_retried, assert_retried
from hudproxy.journal.query import read_calls
from hudproxy.netutil import free_port
from tests.processes import hudproxy_listening

SHOP = Path(__file__).resolve().parents[2] / "cassettes" / "shop.yaml"
REFUND = {"order_id": "A2", "amount": 12.5}
FAULTS = """\
seed: 9
rules:
  - name: throttled
    match: {method: GET, path: /orders/*}
    nth: 1
    fault: {kind: status, status: 429, headers: {Retry-After: "0.2"}}
  - name: dropped
    match: {method: GET, path: /orders/*}
    nth: 2
    fault: {kind: reset}
  - name: refund-dropped
    match: {method: POST, path: /refunds}
    nth: 1
    fault: {kind: reset}
  - name: events-cut
    match: {path: /events}
    nth: 1
    fault: {kind: cut, after_chunks: 1}
  - name: events-stalled
    match: {path: /events}
    nth: 2
    fault: {kind: stall, after_chunks: 1, seconds: 5}
"""


def get_with_retries(client: httpx.Client, path: str, attempts: int = 4) -> tuple[httpx.Response, int]:
    """The client under test: a 429 is retried after its Retry-After, a dropped connection at once (a GET is
    safe to repeat). Returns the answer and the attempts it took."""
    for attempt in range(1, attempts + 1):
        try:
            response = client.get(path)
        except httpx.TransportError:
            continue
        if response.status_code == 429:
            time.sleep(float(response.headers.get("retry-after", "0")))
            continue
        return response, attempt
    raise AssertionError(f"GET {path}: no answer in {attempts} attempts")


def post_refund(client: httpx.Client, blindly: bool) -> int | None:
    """A refund (not idempotent): the careful client stops at a dropped connection, the naive one sends it again."""
    for _ in range(2 if blindly else 1):
        try:
            return client.post("/refunds", json=REFUND).status_code
        except httpx.TransportError:
            continue
    return None


def test_a_retrying_client_gets_through_a_429_and_a_reset(tmp_path: Path) -> None:
    faults, journal, port = tmp_path / "faults.yaml", tmp_path / "journal.db", free_port()
    faults.write_text(FAULTS)
    argv = ["replay", str(SHOP), "--port", str(port), "--faults", str(faults), "--journal", str(journal)]
    with hudproxy_listening(argv, port) as (process, base):
        with httpx.Client(base_url=base, headers={"X-Hudproxy-Session": "careful"}, timeout=5) as client:
            clock = time.monotonic()
            answer, attempts = get_with_retries(client, "/orders/A1")
            assert (answer.status_code, answer.json()["id"], attempts) == (200, "A1", 3)
            assert time.monotonic() - clock >= 0.2  # it waited as Retry-After asked
            assert post_refund(client, blindly=False) is None
        with httpx.Client(base_url=base, headers={"X-Hudproxy-Session": "naive"}, timeout=5) as client:
            assert post_refund(client, blindly=True) == 201
        process.terminate()  # a clean stop flushes the journal
        assert process.wait(15) == 0
    careful, naive = read_calls(journal, session="careful"), read_calls(journal, session="naive")
    assert [(c.method, c.kind, c.status, c.fault) for c in careful] == [
        ("GET", "fault", 429, "throttled"), ("GET", "fault", 0, "dropped"), ("GET", "http", 200, None),
        ("POST", "fault", 0, "refund-dropped"),
    ]  # fmt: skip
    assert [c.answered_by for c in careful] == ["fault", "fault", "recording", "fault"]
    orders = CallSpec("GET", "/orders/A1")
    assert [c.seq for c in assert_retried(careful, orders, after=429, max_attempts=3)] == [1, 2, 3]
    with pytest.raises(AssertionError, match="at most 2 attempts, found 3"):
        assert_retried(careful, orders, after=429, max_attempts=2)
    assert_not_retried(careful)
    with pytest.raises(AssertionError, match=r"no retry of a failed POST: #1 \(no answer\) was sent again as #2"):
        assert_not_retried(naive)


def test_a_stream_is_cut_after_a_chunk_then_stalls(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(FAULTS)
    with Replay(SHOP, faults=faults) as proxy:
        session = proxy.session("streams")
        timeout = httpx.Timeout(5, read=0.5)
        with httpx.Client(base_url=session.base_url, timeout=timeout) as client:
            received: list[bytes] = []
            with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", "/events") as cut:
                received.extend(cut.iter_raw())
            assert received and cut.status_code == 200  # the first chunk came, then the connection ended
            clock = time.monotonic()
            with pytest.raises(httpx.ReadTimeout), client.stream("GET", "/events") as stalled:
                pieces = stalled.iter_raw()
                assert next(pieces)  # the first chunk, then nothing more
                next(pieces)
            assert time.monotonic() - clock < 4  # the client's read timeout, not the stall's 5 s
            whole = client.get("/events")
            assert whole.status_code == 200 and whole.content.startswith(b"".join(received))
        assert [c.fault for c in session.calls()] == ["events-cut", "events-stalled", None]


def statuses(seed: int, session_id: str) -> list[int]:
    faults = {"seed": seed, "rules": [{"name": "flaky", "match": {"path": "/orders/*"}, "probability": 0.4,
                                       "fault": {"kind": "status", "status": 503}}]}  # fmt: skip
    with Replay(SHOP, faults=faults) as proxy, httpx.Client(base_url=proxy.session(session_id).base_url) as client:
        return [client.get("/orders/A1").status_code for _ in range(25)]


def test_same_seed_same_faults_at_the_same_calls_on_a_new_server() -> None:
    first = statuses(21, "run-1")
    assert first == statuses(21, "run-1") and 503 in first and 200 in first
    assert first != statuses(22, "run-1")


def test_session_inject_for_a_block_and_the_admin_api_per_session() -> None:
    with Replay(SHOP) as proxy:
        session = proxy.session("agent")
        with httpx.Client(base_url=session.base_url) as client:
            with session.inject(match={"path": "/orders/*"}, nth=1, fault={"kind": "status", "status": 503}):
                assert [client.get("/orders/A1").status_code for _ in range(2)] == [503, 200]
            assert client.get("/orders/A1").status_code == 200  # after the block: no rules
        admin = f"{proxy.base_url}/_hudproxy/sessions"
        rules = {
            "seed": 1,
            "rules": [{"name": "down", "match": {"method": "GET"}, "fault": {"kind": "status", "status": 500}}],
        }
        put = httpx.put(f"{admin}/other/faults", json=rules)
        assert put.status_code == 200 and put.json()["source"] == "session"
        assert httpx.get(f"{proxy.base_url}/s/other/health").status_code == 500
        assert httpx.get(f"{proxy.base_url}/s/agent/health").status_code == 200  # another session: calm
        assert httpx.get(f"{admin}/other/faults").json()["faults"]["rules"][0]["name"] == "down"
        assert httpx.delete(f"{admin}/other/faults").status_code == 204
        assert httpx.get(f"{proxy.base_url}/s/other/health").status_code == 200
        bad = httpx.put(f"{admin}/other/faults", json={"rules": [{"latency": -1}]})
        assert bad.status_code == 400 and bad.json()["detail"].startswith(
            "PUT /_hudproxy/sessions/other/faults: rule 1"
        )
        assert httpx.get(f"{admin}/nobody/faults").status_code == 404
