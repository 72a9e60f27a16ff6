"""The replay engine with a resource model (`--generalise`), sans-IO, over the bundled shop recording: recorded
answers still win where they agree with the session; what no recording matches comes from the model."""

from __future__ import annotations

import json
from pathlib import Path

from hudproxy.cassette import load_cassette
from hudproxy.replay import UNMATCHED_STATUS, ReplayEngine, ReplayState
from hudproxy.resources import SYNTHESIZED_HEADER
from hudproxy.testing import make_request

ROOT = Path(__file__).resolve().parents[2]
SHOP = load_cassette(ROOT / "cassettes" / "shop.yaml")
TODOS = load_cassette(ROOT / "cassettes" / "todos.yaml")
BASE = "http://127.0.0.1:8080"


def test_recorded_answers_still_win_and_misses_come_from_the_model() -> None:
    engine, state = ReplayEngine.from_cassette(SHOP, generalise=True), ReplayState("s1")
    recorded = engine.handle(make_request("GET", f"{BASE}/orders/A1"), state)
    assert recorded.interaction is not None and recorded.interaction.index == 1 and recorded.synthesized is None
    patched = engine.handle(make_request("PATCH", f"{BASE}/orders/A2", json={"status": "shipped"}), state)
    assert patched.synthesized is not None and patched.interaction is None
    assert dict(patched.response.headers)[SYNTHESIZED_HEADER] == "orders.patch" == patched.synthesized.rule
    assert patched.synthesized.evidence == [4]
    # GET /orders/A2 is recorded (paid), but this session shipped A2 itself: the recording is stale for it
    read = engine.handle(make_request("GET", f"{BASE}/orders/A2"), state)
    assert read.synthesized is not None and json.loads(read.response.body)["status"] == "shipped"
    assert engine.handle(make_request("GET", f"{BASE}/health"), state).interaction is not None
    missed = engine.handle(make_request("DELETE", f"{BASE}/orders/A2"), state)  # no DELETE was ever recorded
    assert missed.response.status == UNMATCHED_STATUS and missed.synthesized is None


def test_without_generalise_the_same_request_is_a_miss() -> None:
    engine = ReplayEngine.from_cassette(SHOP)
    outcome = engine.handle(make_request("PATCH", f"{BASE}/orders/A2", json={"status": "shipped"}), ReplayState())
    assert outcome.response.status == UNMATCHED_STATUS and engine.model is None


def test_a_recorded_write_moves_the_session_state() -> None:
    engine, state = ReplayEngine.from_cassette(SHOP, generalise=True), ReplayState("s2")
    shipped = engine.handle(make_request("PATCH", f"{BASE}/orders/A1", json={"status": "shipped"}), state)
    assert shipped.interaction is not None and shipped.interaction.index == 4
    listed = engine.handle(make_request("GET", f"{BASE}/orders?status=shipped&page=1&per_page=5"), state)
    assert listed.synthesized is not None
    assert [o["id"] for o in json.loads(listed.response.body)["items"]] == ["A1"]


def test_recordings_that_contradict_the_session_are_stale() -> None:
    engine, state = ReplayEngine.from_cassette(TODOS, generalise=True), ReplayState("s3")
    # todo 7 exists only because the recording created it: a fresh session that reads it gets the recorded 404
    read = engine.handle(make_request("GET", f"{BASE}/users/1/todos/7"), state)
    assert read.synthesized is not None and read.response.status == 404
    deleted = engine.handle(make_request("DELETE", f"{BASE}/users/1/todos/7"), state)  # recorded 204
    assert deleted.response.status == 404 and deleted.synthesized is not None
    created = engine.handle(make_request("POST", f"{BASE}/users/1/todos", json={"title": "own"}), state)
    assert created.synthesized is not None and json.loads(created.response.body)["id"] == 7
    again = engine.handle(make_request("POST", f"{BASE}/users/1/todos", json={"title": "water plants"}), state)
    assert again.synthesized is not None and json.loads(again.response.body)["id"] == 8  # the recorded id 7 is taken
    state.reset()
    assert state.resources is None


def test_sessions_do_not_see_each_others_changes() -> None:
    engine = ReplayEngine.from_cassette(TODOS, generalise=True)
    one, two = ReplayState("one"), ReplayState("two")
    engine.handle(make_request("DELETE", f"{BASE}/users/1/todos/1"), one)
    assert engine.handle(make_request("GET", f"{BASE}/users/1/todos/1"), one).response.status == 404
    assert engine.handle(make_request("GET", f"{BASE}/users/1/todos/1"), two).response.status == 200
