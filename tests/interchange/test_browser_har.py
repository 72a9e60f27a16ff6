"""A HAR a real browser wrote (headless Chromium, see tests/data/make_browser_har.py): import, scrub, replay.

The replay step sends the requests exactly as the browser did, real secrets included, and gets the
recorded answers: the scrubbed cassette still matches them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.interaction import header_value
from hudproxy.interchange import import_file
from hudproxy.scrub.placeholder import without_hashes

DATA = Path(__file__).parent.parent / "data"
BROWSER_HAR = DATA / "browser.har"
SECRETS = ("sk-live-browser-secret-123", "AKIA-browser-key-999", "hunter2-browser", "tok-browser-777", "sid-cookie-555")
EXPECTED = [
    ("GET", "/"),
    ("GET", "/api/session"),
    ("GET", "/api/user?id=42&api_key=SCRUBBED"),
    ("POST", "/api/search"),
    ("GET", "/api/report"),
    ("GET", "/img/dot.png"),
]
HOP_HEADERS = {"host", "connection", "content-length", "accept-encoding"}


def har_entries() -> list[dict[str, Any]]:
    return json.loads(BROWSER_HAR.read_text())["log"]["entries"]


def target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    return save_cassette(import_file("har", BROWSER_HAR), tmp_path / "browser.yaml")


def test_the_browser_har_is_what_chromium_wrote() -> None:
    log = json.loads(BROWSER_HAR.read_text())["log"]
    assert log["version"] == "1.2" and log["browser"]["name"] in ("Chrome", "HeadlessChrome", "Chromium")
    user_agent = header_value(
        tuple((h["name"], h["value"]) for h in log["entries"][0]["request"]["headers"]), "user-agent"
    )
    assert "HeadlessChrome" in (user_agent or "")


def test_importing_the_browser_har_yields_the_requests_the_page_made(imported: Path) -> None:
    interactions = load_cassette(imported).interactions
    assert [(i.request.method, without_hashes(target(i.request.url))) for i in interactions] == EXPECTED
    assert [i.response.status for i in interactions] == [200] * len(EXPECTED)
    by_path = {i.request.path: i for i in interactions}
    assert json.loads(without_hashes(by_path["/api/search"].request.body.decode())) == {
        "q": "blue mug",
        "password": "SCRUBBED",
    }
    assert json.loads(by_path["/api/search"].response.body) == {
        "query": "blue mug",
        "results": ["blue mug", "blue cup"],
    }
    image = next(e for e in har_entries() if e["request"]["url"].endswith("/img/dot.png"))["response"]["content"]
    assert by_path["/img/dot.png"].response.body == base64.b64decode(image["text"])
    assert by_path["/img/dot.png"].response.body.startswith(b"\x89PNG\r\n\x1a\n")
    report = by_path["/api/report"].response
    assert header_value(report.headers, "content-encoding") is None, "the HAR text is decoded; so is the cassette"
    assert json.loads(report.body) == {"report": "daily", "total": 1234, "rows": [1, 2, 3]}
    assert header_value(report.headers, "content-length") == str(len(report.body))
    assert all(i.recorded_at and i.recorded_at.endswith("Z") and i.duration_ms for i in interactions)


def test_no_secret_from_the_browser_reaches_the_cassette(imported: Path) -> None:
    raw = BROWSER_HAR.read_text()
    assert all(secret in raw for secret in SECRETS), "the browser HAR carries the secrets in the first place"
    text = imported.read_text()
    assert not [secret for secret in SECRETS if secret in text]
    by_path = {i.request.path: i for i in load_cassette(imported).interactions}
    user, search = by_path["/api/user"], by_path["/api/search"]
    assert without_hashes(header_value(user.request.headers, "authorization") or "") == "Bearer SCRUBBED"
    assert without_hashes(header_value(user.response.headers, "set-cookie") or "") == "sid=SCRUBBED; Path=/; HttpOnly"
    assert without_hashes(header_value(search.request.headers, "cookie") or "") == "sid=SCRUBBED"
    assert json.loads(without_hashes(by_path["/api/session"].response.body.decode())) == {
        "access_token": "SCRUBBED",
        "api_key": "SCRUBBED",
        "demo_password": "SCRUBBED",
    }


def test_the_imported_browser_session_replays_as_the_browser_saw_it(
    imported: Path, replay_server: Callable[[Path], httpx.Client]
) -> None:
    """Requests sent as the browser sent them (with the real secrets) get the recorded bodies, scrubbed."""
    client = replay_server(imported)
    recorded = {i.request.path: i.response for i in load_cassette(imported).interactions}
    for entry in har_entries():
        request = entry["request"]
        headers = [(h["name"], h["value"]) for h in request["headers"] if h["name"].lower() not in HOP_HEADERS]
        body = request.get("postData", {}).get("text", "").encode()
        response = client.request(request["method"], target(request["url"]), headers=headers, content=body)
        assert response.status_code == entry["response"]["status"], response.text
        path = urlsplit(request["url"]).path
        assert response.content == recorded[path].body
    assert client.get("/api/orders").status_code == 501, "what the browser never asked is not available"


@pytest.mark.slow  # starts a headless Chromium
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Chromium (apt-get install -y chromium)")
def test_the_script_that_made_the_browser_har_still_makes_an_importable_one(tmp_path: Path) -> None:
    out = tmp_path / "fresh.har"
    script = DATA / "make_browser_har.py"
    subprocess.run([sys.executable, str(script), "-o", str(out)], check=True, timeout=60, capture_output=True)
    fresh = import_file("har", out)
    assert [(i.request.method, without_hashes(target(i.request.url))) for i in fresh.interactions] == EXPECTED
