"""The sans-IO core: state-aware selection, sessions that never share state, the unmatched answer."""

from __future__ import annotations

import json

from hudproxy.cassette import Cassette
from hudproxy.replay import UNMATCHED_STATUS, ReplayEngine, ReplayState
from hudproxy.testing import make_interaction, make_request, make_response


def engine_for(*pairs) -> ReplayEngine:
    interactions = [make_interaction(request, response, index=i) for i, (request, response) in enumerate(pairs)]
    return ReplayEngine.from_cassette(Cassette(interactions))


GET_A1 = make_request("GET", "http://api.test/orders/A1")
PATCH_A1 = make_request("PATCH", "http://api.test/orders/A1", json={"status": "shipped"})


def bodies(engine: ReplayEngine, state: ReplayState, *requests) -> list[bytes]:
    return [engine.handle(r, state).response.body for r in requests]


def test_reads_follow_the_writes_this_session_made() -> None:
    engine = engine_for(
        (GET_A1, make_response(body=b"pending")),
        (PATCH_A1, make_response(body=b"patched")),
        (GET_A1, make_response(body=b"shipped")),
    )
    state = ReplayState()
    assert bodies(engine, state, GET_A1, GET_A1, GET_A1) == [b"pending"] * 3
    assert bodies(engine, state, PATCH_A1, GET_A1, GET_A1) == [b"patched", b"shipped", b"shipped"]


def test_repeats_without_writes_play_in_order_then_the_last_repeats() -> None:
    poll = make_request("GET", "http://api.test/jobs/1")
    engine = engine_for(
        (poll, make_response(body=b"queued")),
        (poll, make_response(body=b"running")),
        (poll, make_response(body=b"done")),
    )
    assert bodies(engine, ReplayState(), poll, poll, poll, poll) == [b"queued", b"running", b"done", b"done"]


def test_repeated_writes_replay_in_order() -> None:
    create = make_request("POST", "http://api.test/orders", json={"item": "pen"})
    engine = engine_for((create, make_response(201, json={"id": 1})), (create, make_response(201, json={"id": 2})))
    assert bodies(engine, ReplayState(), create, create) == [b'{"id":1}', b'{"id":2}']


def test_unrelated_recorded_writes_do_not_hold_back_the_state() -> None:
    other_write = make_request("POST", "http://api.test/notes", json={"text": "x"})
    engine = engine_for(
        (GET_A1, make_response(body=b"pending")),
        (other_write, make_response(201)),
        (GET_A1, make_response(body=b"pending")),
        (PATCH_A1, make_response(body=b"patched")),
        (GET_A1, make_response(body=b"shipped")),
    )
    state = ReplayState()
    assert bodies(engine, state, PATCH_A1, GET_A1) == [b"patched", b"shipped"]


def test_sessions_are_isolated() -> None:
    engine = engine_for(
        (GET_A1, make_response(body=b"pending")),
        (PATCH_A1, make_response(body=b"patched")),
        (GET_A1, make_response(body=b"shipped")),
    )
    writer, reader = ReplayState(), ReplayState()
    assert bodies(engine, writer, PATCH_A1, GET_A1) == [b"patched", b"shipped"]
    assert bodies(engine, reader, GET_A1) == [b"pending"]


def test_unmatched_answer_is_compact_and_leaks_no_recorded_response() -> None:
    engine = engine_for((GET_A1, make_response(json={"secret_plan": "TOP-SECRET-ANSWER"})))
    outcome = engine.handle(make_request("GET", "http://api.test/orders/A2"), ReplayState())
    assert not outcome.matched
    assert outcome.response.status == UNMATCHED_STATUS
    payload = json.loads(outcome.response.body)
    assert payload["error"] == "not_available"
    assert "GET /orders/A2" in payload["message"]
    assert b"TOP-SECRET-ANSWER" not in outcome.response.body
    assert outcome.near_misses[0].interaction.index == 0


def test_unmatched_is_logged_with_the_diagnosis(caplog) -> None:
    engine = engine_for((GET_A1, make_response()))
    with caplog.at_level("WARNING", logger="hudproxy.replay"):
        engine.handle(make_request("GET", "http://api.test/orders/A2"), ReplayState())
    assert "unmatched: GET /orders/A2" in caplog.text
    assert "path: /orders/A2 (recorded /orders/A1)" in caplog.text
