"""vcrpy cassettes: recorded by vcrpy itself (requests against a live upstream), imported, replayed by hudproxy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import requests
import vcr
from bodies_app import BINARY, TOKEN, bodies_app

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.interaction import header_value
from hudproxy.interchange import import_file
from hudproxy.scrub import ScrubPolicy
from hudproxy.scrub.placeholder import without_hashes
from hudproxy.serving import serve_in_thread


@pytest.fixture(scope="module")
def vcr_cassette(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[requests.Response]]:
    """A cassette vcrpy wrote (no filters: the token is stored as sent); the upstream is stopped afterwards."""
    path = tmp_path_factory.mktemp("vcr") / "vcrpy.yaml"
    with (
        serve_in_thread(bodies_app()) as upstream,
        vcr.VCR(record_mode="all").use_cassette(str(path)),
        requests.Session() as session,
    ):
        session.trust_env = False
        responses = [
            session.get(f"{upstream}/json", headers={"Authorization": TOKEN}, timeout=10),
            session.get(f"{upstream}/binary", timeout=10),
            session.post(f"{upstream}/login", json={"user": "ada", "password": "pw-1"}, timeout=10),
        ]
    assert TOKEN in path.read_text(), "vcrpy stores the secret: importing is what removes it"
    return path, responses


def test_a_vcrpy_cassette_imports_with_secrets_scrubbed(vcr_cassette: tuple[Path, list[requests.Response]]) -> None:
    path, responses = vcr_cassette
    imported = import_file("vcr", path)
    assert [i.request.method + " " + i.request.path for i in imported.interactions] == [
        "GET /json",
        "GET /binary",
        "POST /login",
    ]
    assert imported.interactions[1].response.body == BINARY == responses[1].content
    authorization = header_value(imported.interactions[0].request.headers, "authorization") or ""
    assert without_hashes(authorization) == "Bearer SCRUBBED"
    assert without_hashes(json.loads(imported.interactions[2].response.body)["access_token"]) == "SCRUBBED"
    assert imported.meta["imported_from"] == {"format": "vcr", "file": "vcrpy.yaml"}
    assert imported.meta["scrub"]["enabled"] is True


def test_keep_secrets_imports_the_vcrpy_cassette_as_it_is(vcr_cassette: tuple[Path, list[requests.Response]]) -> None:
    path, _ = vcr_cassette
    imported = import_file("vcr", path, ScrubPolicy.disabled())
    assert imported.interactions == load_cassette(path).interactions


def test_the_imported_vcrpy_cassette_replays_in_hudproxy(
    vcr_cassette: tuple[Path, list[requests.Response]], tmp_path: Path, replay_server: Callable[[Path], httpx.Client]
) -> None:
    path, responses = vcr_cassette
    client = replay_server(save_cassette(import_file("vcr", path), tmp_path / "imported.yaml"))
    replayed = [
        client.get("/json", headers={"Authorization": TOKEN}),
        client.get("/binary"),
        client.post("/login", json={"user": "ada", "password": "pw-1"}),
    ]
    assert [r.status_code for r in replayed] == [200, 200, 200]
    assert [r.content for r in replayed[:2]] == [r.content for r in responses[:2]]
    assert json.loads(without_hashes(replayed[2].text)) == {"user": "ada", "access_token": "SCRUBBED"}
