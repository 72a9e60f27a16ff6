"""Session endpoints change what replay answers: create, reset and drop, state-aware."""

from __future__ import annotations

from datetime import datetime

import httpx
from admin_server import Server

SHIPPED = {"status": "shipped"}


def status_of(client: httpx.Client, url: str) -> str:
    return client.get(url).json()["status"]


def test_create_returns_an_id_and_a_base_url_that_selects_the_session(server: Server) -> None:
    created = server.client.post("/_hudproxy/sessions", json={"id": "alice"})
    assert created.status_code == 201
    assert created.json() == {"id": "alice", "base_url": f"{server.url}/s/alice"}
    base = created.json()["base_url"]
    server.client.patch(f"{base}/orders/A1", json=SHIPPED)
    assert status_of(server.client, f"{base}/orders/A1") == "shipped"
    assert status_of(server.client, "/orders/A1") == "pending"


def test_create_without_a_body_picks_a_random_id(server: Server) -> None:
    first = server.client.post("/_hudproxy/sessions").json()
    second = server.client.post("/_hudproxy/sessions", json={}).json()
    assert first["id"] != second["id"]
    assert first["base_url"] == f"{server.url}/s/{first['id']}"


def test_create_with_an_invalid_id_is_400_with_the_rule(server: Server) -> None:
    response = server.client.post("/_hudproxy/sessions", json={"id": "no spaces"})
    assert response.status_code == 400
    assert "must be 1-128 of letters" in response.json()["detail"]


def test_list_shows_calls_and_times(server: Server) -> None:
    server.client.post("/_hudproxy/sessions", json={"id": "alice"})
    server.client.get("/s/alice/orders/A1")
    server.client.get("/s/alice/orders?page=1")
    server.client.get("/s/bob/orders/A1")
    listed = {row["id"]: row for row in server.client.get("/_hudproxy/sessions").json()}
    assert {k: v["calls"] for k, v in listed.items()} == {"alice": 2, "bob": 1}
    alice = listed["alice"]
    assert datetime.fromisoformat(alice["created"]) <= datetime.fromisoformat(alice["last_seen"])


def test_reset_serves_the_before_answer_again(server: Server) -> None:
    client = server.client
    assert status_of(client, "/s/alice/orders/A1") == "pending"
    client.patch("/s/alice/orders/A1", json=SHIPPED)
    assert status_of(client, "/s/alice/orders/A1") == "shipped"
    reset = client.post("/_hudproxy/sessions/alice/reset")
    assert reset.status_code == 200
    assert reset.json()["calls"] == 0
    assert status_of(client, "/s/alice/orders/A1") == "pending"


def test_reset_touches_only_its_session(server: Server) -> None:
    client = server.client
    for who in ("alice", "bob"):
        client.patch(f"/s/{who}/orders/A1", json=SHIPPED)
    client.post("/_hudproxy/sessions/alice/reset")
    assert status_of(client, "/s/alice/orders/A1") == "pending"
    assert status_of(client, "/s/bob/orders/A1") == "shipped"


def test_delete_drops_the_session_and_its_state(server: Server) -> None:
    client = server.client
    client.patch("/s/alice/orders/A1", json=SHIPPED)
    assert client.delete("/_hudproxy/sessions/alice").status_code == 204
    assert "alice" not in [row["id"] for row in client.get("/_hudproxy/sessions").json()]
    assert status_of(client, "/s/alice/orders/A1") == "pending"


def test_unknown_ids_are_json_404s(server: Server) -> None:
    for response in (
        server.client.delete("/_hudproxy/sessions/ghost"),
        server.client.post("/_hudproxy/sessions/ghost/reset"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "no live session 'ghost'; GET /_hudproxy/sessions lists them."}


def test_a_request_with_an_invalid_session_id_gets_a_400_and_makes_no_session(server: Server) -> None:
    long_id = "x" * 500
    for response in (
        server.client.get("/s/run%2017/orders/A1"),
        server.client.get("/orders/A1", headers={"X-Hudproxy-Session": long_id}),
    ):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_session"
        assert "must be 1-128 of letters" in response.json()["message"]
    assert long_id not in response.text  # the message shows the start of a long id only
    assert [row["id"] for row in server.client.get("/_hudproxy/sessions").json()] == []
    journal = server.client.get("/_hudproxy/sessions/invalid-session-id/journal").json()
    assert [(c["seq"], c["status"], c["path"]) for c in journal] == [(1, 400, "/orders/A1"), (2, 400, "/orders/A1")]
