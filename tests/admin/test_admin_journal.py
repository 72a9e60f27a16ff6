"""Journal endpoints read what the server answered up to now: filters, diagnoses, and 409 without a journal."""

from __future__ import annotations

import pytest
from admin_server import Server, Start

SHIPPED = {"status": "shipped"}


@pytest.fixture
def busy(server: Server) -> Server:
    """alice: GET, PATCH, GET, an unmatched POST; bob: the list page and an unmatched GET."""
    client = server.client
    client.get("/s/alice/orders/A1")
    client.patch("/s/alice/orders/A1", json=SHIPPED)
    client.get("/s/alice/orders/A1")
    client.post("/s/alice/orders", json={"sku": "SKU-999"})
    client.get("/s/bob/orders?page=1")
    client.get("/s/bob/orders/B7")
    return server


def journal(server: Server, session: str, **params: str) -> list[dict]:
    response = server.client.get(f"/_hudproxy/sessions/{session}/journal", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_journal_is_current_and_in_order(busy: Server) -> None:
    calls = journal(busy, "alice")
    assert [(c["seq"], c["method"], c["path"], c["status"]) for c in calls] == [
        (1, "GET", "/orders/A1", 200),
        (2, "PATCH", "/orders/A1", 200),
        (3, "GET", "/orders/A1", 200),
        (4, "POST", "/orders", 501),
    ]
    assert [c["interaction"] for c in calls] == [0, 1, 2, None]
    assert calls[1]["request_body"] == '{"status":"shipped"}'
    assert calls[2]["response_body"] == '{"id":"A1","status":"shipped"}'


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"method": "get"}, [1, 3], id="method-any-case"),
        pytest.param({"path": "/orders/*"}, [1, 2, 3], id="path-glob"),
        pytest.param({"path": "/orders"}, [4], id="path-exact"),
        pytest.param({"unmatched": "true"}, [4], id="unmatched-only"),
        pytest.param({"unmatched": "false"}, [1, 2, 3], id="matched-only"),
        pytest.param({"method": "PATCH", "path": "/orders/*"}, [2], id="combined"),
    ],
)
def test_journal_filters(busy: Server, params: dict[str, str], expected: list[int]) -> None:
    assert [c["seq"] for c in journal(busy, "alice", **params)] == expected


def test_journal_of_an_unknown_session_is_404(busy: Server) -> None:
    response = busy.client.get("/_hudproxy/sessions/ghost/journal")
    assert response.status_code == 404
    assert "ghost" in response.json()["detail"]


def test_journal_of_a_dropped_session_stays_readable(busy: Server) -> None:
    busy.client.delete("/_hudproxy/sessions/bob")
    assert [c["path"] for c in journal(busy, "bob")] == ["/orders", "/orders/B7"]


def test_journal_of_a_live_session_without_calls_is_empty(busy: Server) -> None:
    busy.client.post("/_hudproxy/sessions", json={"id": "carol"})
    assert journal(busy, "carol") == []


def test_unmatched_shows_each_call_with_its_diagnosis(busy: Server) -> None:
    calls = busy.client.get("/_hudproxy/unmatched").json()
    assert [(c["session"], c["method"], c["path"]) for c in calls] == [
        ("alice", "POST", "/orders"),
        ("bob", "GET", "/orders/B7"),
    ]
    post, get = calls
    assert not post["matched"] and post["status"] == 501
    nearest = post["diagnosis"][0]
    assert nearest["interaction"] == 4
    assert nearest["request"] == "POST /orders"
    assert any("SKU-999" in d or "sku" in d for d in nearest["differences"])
    assert get["diagnosis"][0]["request"] == "GET /orders/A1"
    assert any("path" in d for d in get["diagnosis"][0]["differences"])


def test_unmatched_filters_by_session(busy: Server) -> None:
    calls = busy.client.get("/_hudproxy/unmatched", params={"session": "bob"}).json()
    assert [c["path"] for c in calls] == ["/orders/B7"]


def test_journal_endpoints_answer_409_when_the_journal_is_disabled(start: Start) -> None:
    server = start(journal=False)
    server.client.get("/s/alice/orders/A1")
    for url in ("/_hudproxy/sessions/alice/journal", "/_hudproxy/unmatched"):
        response = server.client.get(url)
        assert response.status_code == 409
        assert response.json()["detail"].startswith("the journal is disabled")


def test_numbers_never_repeat_after_a_reset_or_a_drop(server: Server) -> None:
    """The audit's sequence: GET, PATCH, reset, GET, drop, GET: six calls, six numbers, in the order made."""
    client = server.client
    client.get("/s/alice/orders/A1")
    client.patch("/s/alice/orders/A1", json={"status": "shipped"})
    client.post("/_hudproxy/sessions/alice/reset")
    client.get("/s/alice/orders/A1")
    client.delete("/_hudproxy/sessions/alice")
    client.get("/s/alice/orders/A1")
    calls = journal(server, "alice")
    assert [(c["seq"], c["method"]) for c in calls] == [(1, "GET"), (2, "PATCH"), (3, "GET"), (4, "GET")]
    listed = {row["id"]: row["calls"] for row in client.get("/_hudproxy/sessions").json()}
    assert listed["alice"] == 1  # calls since it came back


def test_a_second_server_on_the_same_journal_numbers_after_the_first(start: Start) -> None:
    first = start()
    first.client.get("/s/alice/orders/A1")
    first.client.get("/s/bob/orders/A1")
    first.app.close()
    second = start()
    second.client.get("/s/alice/orders/A1")
    second.client.get("/orders/A1")
    assert [c["seq"] for c in journal(second, "alice")] == [1, 2]
    assert [c["seq"] for c in journal(second, "default")] == [2]  # after the highest number in the file


def test_refused_session_ids_are_numbered_on_across_server_runs(start: Start) -> None:
    first = start()
    first.client.get("/orders/A1", headers={"X-Hudproxy-Session": "bad id"})
    first.app.close()
    second = start()
    second.client.get("/orders/A1", headers={"X-Hudproxy-Session": "bad id"})
    assert [c["seq"] for c in journal(second, "invalid-session-id")] == [1, 2]
