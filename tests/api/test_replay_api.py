"""The sync Python API over a real replay server: sessions, typed calls, predicates and readable failures."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hudproxy import CallSpec, Replay, Session


def client(session: Session) -> httpx.Client:
    return httpx.Client(base_url=session.base_url, trust_env=False, timeout=10)


def checkout(session: Session) -> None:
    """The agent's run this file asserts about: auth, read, ship, read, refund, search."""
    with client(session) as http:
        http.post("/auth/token", json={"user": "ada"})
        http.get("/orders/A1")
        http.patch("/orders/A1", json={"status": "shipped"})
        http.get("/orders/A1")
        http.post("/refunds", json={"order": "A1", "amount": 5, "reason": "late"})
        http.get("/search", params={"q": "shoes", "page": "2"})


def test_sessions_are_isolated_and_follow_their_own_writes(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        alice, bob = proxy.session(), proxy.session()
        assert alice.id != bob.id and alice.base_url == f"{proxy.base_url}/s/{alice.id}"
        with client(alice) as a, client(bob) as b:
            assert a.patch("/orders/A1", json={"status": "shipped"}).status_code == 200
            assert a.get("/orders/A1").json()["status"] == "shipped"
            assert b.get("/orders/A1").json()["status"] == "pending"
        assert [(c.method, c.path) for c in alice.calls()] == [("PATCH", "/orders/A1"), ("GET", "/orders/A1")]
        assert [c.response_json["status"] for c in bob.calls()] == ["pending"]


def test_calls_filter_by_method_glob_and_regex(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session()
        checkout(session)
        assert [c.seq for c in session.calls(method="GET", path="/orders/*")] == [2, 4]
        assert [c.path for c in session.calls(path=re.compile(r"/(refunds|search)"))] == ["/refunds", "/search"]
        assert session.calls(method="post", path="/refunds").last.json == {"order": "A1", "amount": 5, "reason": "late"}
        assert session.calls().call_count == 6 and not session.unmatched()


def test_predicates_json_contains_query_and_where(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session()
        checkout(session)
        session.assert_called("PATCH", "/orders/A1", json={"status": "shipped"}, times=1)
        session.assert_called("POST", "/refunds", json_contains={"amount": 5}, times=1)
        session.assert_called("GET", "/search", query={"q": "shoes"})
        session.assert_called(where=lambda c: c.status == 201, times=1)
        session.assert_not_called("POST", "/refunds", json_contains={"amount": 500})
        session.assert_called_before(("POST", "/auth/token"), ("POST", "/refunds"))
        session.assert_called_before(CallSpec("GET", "/orders/A1"), CallSpec("PATCH", re.compile(r"/orders/\w+")))


def test_a_failed_assertion_names_the_expected_call_then_the_calls_made_nearest_first(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session()
        checkout(session)
        with pytest.raises(AssertionError) as failed:
            session.assert_called("PATCH", "/orders/A1", json={"status": "cancelled"})
    lines = str(failed.value).splitlines()
    assert lines[:3] == [
        "expected a call that was not made",
        "  expected: PATCH /orders/A1 json={'status': 'cancelled'}",
        "  calls made (6), nearest first:",
    ]
    assert lines[3] == '    #3 PATCH /orders/A1 {"status":"shipped"} → 200'
    assert lines[4:6] == ["    #2 GET /orders/A1 → 200", "    #4 GET /orders/A1 → 200"]


def test_failed_count_not_called_and_order_assertions_read_well(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session()
        checkout(session)
        with pytest.raises(AssertionError, match=r"^expected 2 matching call\(s\), found 1\n  expected: GET /sea"):
            session.assert_called("GET", "/search", times=2)
        with pytest.raises(AssertionError) as refunded:
            session.assert_not_called("POST", "/refunds")
        with pytest.raises(AssertionError, match="expected POST /refunds before POST /auth/token, but it came after"):
            session.assert_called_before(("POST", "/refunds"), ("POST", "/auth/token"))
    assert str(refunded.value).splitlines() == [
        "expected no matching call, found 1",
        "  expected: POST /refunds",
        "  calls made (1), nearest first:",
        '    #5 POST /refunds {"order":"A1","amount":5,"reason":"late"} → 201',
    ]


def test_an_empty_session_says_none_were_made(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy, pytest.raises(AssertionError) as failed:
        proxy.session().assert_called("POST", "/refunds")
    assert str(failed.value).splitlines()[-2:] == ["  calls made (0), nearest first:", "    (none)"]


def test_unmatched_calls_carry_the_diagnosis(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session()
        with client(session) as http:
            assert http.post("/refunds", json={"order": "A1", "amount": 50, "reason": "late"}).status_code == 501
        (missed,) = session.unmatched()
    assert missed.status == 501 and not missed.matched
    nearest = missed.diagnosis[0]
    assert nearest["request"] == "POST /refunds"
    assert any("amount" in d and "50" in d for d in nearest["differences"]), nearest


def test_reset_starts_the_session_over(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session()
        with client(session) as http:
            http.patch("/orders/A1", json={"status": "shipped"})
            assert http.get("/orders/A1").json()["status"] == "shipped"
            session.reset()
            assert session.calls() == []
            assert http.get("/orders/A1").json()["status"] == "pending"
        assert [(c.seq, c.method) for c in session.calls()] == [(3, "GET")]


def test_a_closed_id_reopened_starts_fresh_without_mixing_old_calls(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        with proxy.session("run-1") as first, client(first) as http:
            http.patch("/orders/A1", json={"status": "shipped"})
        assert "run-1" not in [s.id for s in proxy.sessions()]
        again = proxy.session("run-1")
        with client(again) as http:
            assert http.get("/orders/A1").json()["status"] == "pending"
        assert [c.method for c in again.calls()] == ["GET"]


def test_the_header_form_and_the_server_session_list(shop_cassette: Path) -> None:
    with Replay(shop_cassette) as proxy:
        session = proxy.session("by-header")
        httpx.get(f"{proxy.base_url}/orders/A1", headers=session.headers, trust_env=False)
        httpx.get(f"{proxy.base_url}/s/made-by-client/orders/A1", trust_env=False)
        assert session.calls(path="/orders/A1").call_count == 1
        assert sorted(s.id for s in proxy.sessions()) == ["by-header", "made-by-client"]


def test_the_temporary_journal_is_deleted_at_exit_unless_kept(shop_cassette: Path, tmp_path: Path) -> None:
    with Replay(shop_cassette) as proxy:
        temporary = proxy.journal_path
        assert temporary.exists()
    assert not temporary.exists()
    with Replay(shop_cassette, keep_journal=True) as proxy:
        kept = proxy.journal_path
    assert kept.exists()
    kept.unlink()
    with Replay(shop_cassette, journal=tmp_path / "j.db") as proxy:
        checkout(proxy.session())
    assert (tmp_path / "j.db").exists()
