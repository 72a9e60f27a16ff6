"""Volatile fields: a staging API whose ids and timestamps change on every call. Declared (`--ignore`), or learned
by sending each read twice (`--learn-volatile`) and saved for the next run; a real change still shows through."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from drift_helpers import by_request, changes, hudproxy, record, verify_json
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from hudproxy.serving import serve_in_thread

VOLATILE_POINTERS = ["/generated_at", "/items/*/id", "/request_id"]


def staging(source_type_changed: bool = False) -> FastAPI:
    app = FastAPI()

    @app.get("/feed")
    def feed() -> JSONResponse:
        body = {
            "request_id": uuid.uuid4().hex,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(),
            "source": 7 if source_type_changed else "staging",
            "items": [{"id": uuid.uuid4().hex, "name": name, "rank": rank} for rank, name in enumerate("ab")],
        }
        return JSONResponse(body, headers={"Location": f"/feed/{uuid.uuid4().hex}"})

    return app


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    cassette = tmp_path / "staging.yaml"
    with serve_in_thread(staging()) as url:

        def reads(client: httpx.Client) -> None:
            client.get("/feed")

        record(cassette, url, reads)
    return cassette


@pytest.fixture
def live() -> Iterator[str]:
    with serve_in_thread(staging()) as url:
        yield url


def test_without_volatile_fields_every_call_drifts(recorded: Path, live: str) -> None:
    code, report = verify_json(recorded, "--against", live)
    feed = by_request(report)["GET /feed"]
    assert code == 0 and feed["verdict"] == "drifted"  # value changes break no client
    assert set(changes(feed)) == {"/request_id", "/generated_at", "/items/0/id", "/items/1/id"}
    assert [h["name"] for h in feed["headers"]] == ["location"]


def test_learned_volatile_fields_are_saved_and_used_next_time(recorded: Path, live: str) -> None:
    code, report = verify_json(recorded, "--against", live, "--learn-volatile")
    assert code == 0
    assert report["learned"] == {
        "pointers": [],
        "headers": ["location"],
        "by_request": {"GET /feed": VOLATILE_POINTERS},
    }
    feed = by_request(report)["GET /feed"]
    assert feed["verdict"] == "same" and feed["ignored"] == 5
    saved = recorded.with_name("staging.volatile.yaml")
    assert "/items/*/id" in saved.read_text()
    code, report = verify_json(recorded, "--against", live)  # no learning: the saved file is read
    assert code == 0 and by_request(report)["GET /feed"]["verdict"] == "same"


def test_a_real_change_shows_through_the_volatile_noise(recorded: Path, live: str) -> None:
    verify_json(recorded, "--against", live, "--learn-volatile")
    with serve_in_thread(staging(source_type_changed=True)) as changed:
        code, report = verify_json(recorded, "--against", changed)
    feed = by_request(report)["GET /feed"]
    assert code == 1 and feed["verdict"] == "breaking"
    assert changes(feed) == {"/source": "type_changed"}


def test_declared_volatile_fields(recorded: Path, live: str) -> None:
    ignores = ["--ignore", "/request_id,/generated_at", "--ignore", "/items/*/id", "--ignore", "Location"]
    code, report = verify_json(recorded, "--against", live, *ignores)
    assert code == 0 and by_request(report)["GET /feed"]["verdict"] == "same"


def test_a_broken_volatile_file_is_one_line(recorded: Path, live: str, tmp_path: Path) -> None:
    broken = tmp_path / "volatile.yaml"
    broken.write_text("pointers: [items/id]\n")
    done = hudproxy("verify", recorded, "--against", live, "--volatile-file", broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(broken) in done.stderr and "JSON pointer" in done.stderr and len(done.stderr.strip().splitlines()) == 1
