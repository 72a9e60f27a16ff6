"""Health, cassette summary, unused interactions and the OpenAPI document, over a real socket."""

from __future__ import annotations

from pathlib import Path

from admin_server import Server, Start


def test_health_counts_interactions_sessions_and_names_the_journal(server: Server) -> None:
    server.client.get("/s/alice/orders/A1")
    body = server.client.get("/_hudproxy/health").json()
    assert body == {"status": "ok", "interactions": 5, "sessions": 1, "journal": str(server.journal)}


def test_health_without_journal_says_null(start: Start) -> None:
    assert start(journal=False).client.get("/_hudproxy/health").json()["journal"] is None


def test_cassette_summary(server: Server, cassette_path: Path) -> None:
    body = server.client.get("/_hudproxy/cassette").json()
    assert body["path"] == str(cassette_path)
    assert body["interactions"] == 5
    assert body["match"]["on"] == ["method", "path", "query", "body"]
    assert body["by_method"] == {"GET": 3, "PATCH": 1, "POST": 1}
    assert body["by_status"] == {"200": 4, "201": 1}
    assert isinstance(body["meta"], dict) and "format" in body["meta"]


def test_unused_lists_what_no_live_session_was_served(server: Server) -> None:
    client = server.client

    def unused() -> list[int]:
        return [row["index"] for row in client.get("/_hudproxy/unused").json()]

    assert unused() == [0, 1, 2, 3, 4]
    client.get("/s/alice/orders/A1")
    client.patch("/s/alice/orders/A1", json={"status": "shipped"})
    assert unused() == [2, 3, 4]
    client.get("/s/bob/orders?page=1")
    assert client.get("/_hudproxy/unused").json() == [
        {"index": 2, "method": "GET", "url": "http://api.test/orders/A1"},
        {"index": 4, "method": "POST", "url": "http://api.test/orders"},
    ]
    client.delete("/_hudproxy/sessions/bob")
    assert unused() == [2, 3, 4]


def test_openapi_lists_every_path_under_the_prefix(server: Server) -> None:
    spec = server.client.get("/_hudproxy/openapi.json").json()
    assert spec["servers"] == [{"url": "/_hudproxy"}]
    assert set(spec["paths"]) == {
        "/health",
        "/cassette",
        "/unused",
        "/sessions",
        "/sessions/{session_id}/reset",
        "/sessions/{session_id}",
        "/sessions/{session_id}/journal",
        "/sessions/{session_id}/state",
        "/sessions/{session_id}/faults",
        "/unmatched",
    }
    assert set(spec["paths"]["/sessions"]) == {"get", "post"}
    assert set(spec["paths"]["/sessions/{session_id}/faults"]) == {"get", "put", "delete"}


def test_docs_page_points_at_the_prefixed_openapi_document(server: Server) -> None:
    page = server.client.get("/_hudproxy/docs")
    assert page.status_code == 200
    assert "/_hudproxy/openapi.json" in page.text


def test_unknown_admin_path_is_a_json_404_not_a_replay(server: Server) -> None:
    response = server.client.get("/_hudproxy/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert len(server.app.sessions) == 0
