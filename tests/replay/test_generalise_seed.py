"""`--seed N` with `--generalise` (`Replay(seed=N)`): the ids the model invents are the same for the same session and
seed, and differ between seeds, over a recording whose ids are UUIDs; `--seed` alone is one clear line, exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from hudproxy import Replay
from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.errors import ConfigError
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.replay import ReplayEngine, ReplayState
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

pytestmark = pytest.mark.usefixtures("replay_server")

API = "http://notes.test"
KNOWN, MADE = "0b5e7f3c-1d2a-4c3b-9e8f-123456789abc", "7f0c1a2b-3c4d-4e5f-8a9b-abcdefabcdef"
HUDPROXY = shutil.which("hudproxy") or "hudproxy"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """Notes with UUID ids: one read, one create (a random-style id: what the seed fixes)."""
    interactions = [
        make_interaction(make_request("GET", f"{API}/notes/{KNOWN}"), make_response(json={"id": KNOWN, "text": "a"})),
        make_interaction(
            make_request("POST", f"{API}/notes", json={"text": "b"}), make_response(201, json={"id": MADE, "text": "b"})
        ),
    ]
    return save_cassette(make_cassette(interactions), tmp_path / "notes.yaml")


def created_id(engine: ReplayEngine, session: str) -> str:
    outcome = engine.handle(make_request("POST", f"{API}/notes", json={"text": "unrecorded"}), ReplayState(session))
    assert outcome.synthesized is not None and outcome.response.status == 201
    return httpx.Response(201, content=outcome.response.body).json()["id"]


def test_new_ids_repeat_per_session_and_seed_and_differ_between_seeds(notes: Path) -> None:
    cassette = load_cassette(notes)
    one, again, other = (ReplayEngine.from_cassette(cassette, generalise=True, seed=s) for s in (1, 1, 2))
    first = created_id(one, "s")
    assert first == created_id(again, "s") and len(first) == 36 and first not in (KNOWN, MADE)
    assert len({first, created_id(other, "s"), created_id(one, "t")}) == 3
    assert created_id(ReplayEngine.from_cassette(cassette, generalise=True), "s") != first  # the default seed is 0


def post_note(base_url: str) -> str:
    response = httpx.post(f"{base_url}/s/agent/notes", json={"text": "unrecorded"}, trust_env=False, timeout=10)
    assert response.status_code == 201 and response.headers["x-hudproxy-synthesized"] == "notes.create"
    return response.json()["id"]


def test_cli_seed_gives_the_ids_the_python_api_gives(notes: Path, tmp_path: Path) -> None:
    port = free_port()
    argv = [HUDPROXY, "replay", str(notes), "--port", str(port), "--generalise", "--seed", "7", "--no-journal"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    try:
        assert wait_for_port("127.0.0.1", port, timeout=30), "hudproxy replay did not start listening"
        from_cli = post_note(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.communicate(timeout=15)
    with Replay(notes, generalise=True, seed=7) as same, Replay(notes, generalise=True, seed=8) as other:
        assert post_note(same.base_url) == from_cli != post_note(other.base_url)
        assert same.session("agent").state()["notes"] == {KNOWN: {"id": KNOWN, "text": "a"}}  # reset: the start


def test_seed_without_generalise_is_one_clear_line(notes: Path, tmp_path: Path) -> None:
    result = subprocess.run([HUDPROXY, "replay", str(notes), "--seed", "3", "--port", str(free_port())],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 2 and "Traceback" not in said, said
    assert "--seed 3" in said and "--generalise" in said
    with pytest.raises(ConfigError, match="generalise=True"):
        Replay(notes, seed=3).start()
