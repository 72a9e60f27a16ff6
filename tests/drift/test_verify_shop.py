"""`hudproxy verify` against the bundled shop changed on purpose after recording: a field removed, a type changed,
a status changed. Real servers on loopback, the real recording proxy, the real CLI in a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from drift_helpers import by_request, changes, hudproxy, record, verify_json
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse

from envs.shop.service import ACCESS_TOKEN, create_app, seed_state
from hudproxy.cassette.files import load_cassette
from hudproxy.serving import serve_in_thread

BEARER = f"Bearer {ACCESS_TOKEN}"


def shop(changed: bool) -> FastAPI:
    """The shop plus a token-protected read that echoes the token; `changed`: the shop's next release."""
    original = create_app()
    app = FastAPI()

    @app.get("/account")
    def account(authorization: str | None = Header(default=None)) -> dict[str, Any]:
        if authorization != BEARER:
            raise HTTPException(status_code=401, detail="missing or invalid bearer token")
        return {"user": "demo", "token": ACCESS_TOKEN, "plan": "pro" if changed else "free"}

    if changed:

        @app.get("/health")
        def health() -> JSONResponse:
            return JSONResponse({"status": "degraded"}, status_code=503)

        @app.get("/orders/{order_id}")
        def order(order_id: str) -> dict[str, Any]:
            found = seed_state().get_order(order_id)
            del found["customer"]  # a field removed
            found["total"] = str(found["total"])  # a type changed
            return found

    app.router.routes.extend(original.router.routes)  # routes above win: the release's changes
    return app


def script(client: httpx.Client) -> None:
    client.get("/health")
    client.get("/orders/A1")
    client.get("/orders", params={"status": "paid"})
    client.get("/account", headers={"Authorization": BEARER})
    client.patch("/orders/A2", json={"status": "shipped"})


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    cassette = tmp_path / "shop.yaml"
    with serve_in_thread(shop(changed=False)) as url:
        record(cassette, url, script)
    return cassette


@pytest.fixture
def changed_shop() -> Iterator[str]:
    with serve_in_thread(shop(changed=True)) as url:
        yield url


def test_the_changed_shop_is_breaking_field_by_field(recorded: Path, changed_shop: str) -> None:
    code, report = verify_json(recorded, "--against", changed_shop, "--header", f"Authorization: {BEARER}")
    assert code == 1 and report["breaking"]
    items = by_request(report)
    health = items["GET /health"]
    assert health["verdict"] == "breaking"
    assert health["status"] == {"recorded": 200, "live": 503, "breaking": True}
    order = items["GET /orders/A1"]
    assert order["verdict"] == "breaking"
    assert changes(order) == {"/customer": "removed", "/total": "type_changed"}
    assert items["GET /orders?status=paid"]["verdict"] == "same"
    account = items["GET /account"]
    assert account["verdict"] == "drifted" and changes(account) == {"/plan": "value_changed"}
    write = items["PATCH /orders/A2"]
    assert write["verdict"] == "skipped" and "--include-writes" in write["reason"]


def test_a_scrubbed_secret_is_named_when_no_header_gives_it(recorded: Path, changed_shop: str) -> None:
    code, report = verify_json(recorded, "--against", changed_shop)
    assert code == 1  # the rest of the shop still breaks
    account = by_request(report)["GET /account"]
    assert account["verdict"] == "skipped"
    assert "Authorization" in account["reason"] and "--header" in account["reason"]


def test_the_rich_table_names_each_change(recorded: Path, changed_shop: str) -> None:
    done = hudproxy("verify", recorded, "--against", changed_shop)
    assert done.returncode == 1, done.stderr
    for fragment in ("- /customer removed", "~ /total number -> string", "200 -> 503", "BREAKING"):
        assert fragment in done.stdout, done.stdout


def test_update_rewrites_the_drift_and_keeps_scrubbing(recorded: Path, changed_shop: str) -> None:
    before = load_cassette(recorded)
    code, report = verify_json(recorded, "--against", changed_shop, "--header", f"Authorization: {BEARER}", "--update")
    assert code == 0 and report["updated"] == 3
    after = load_cassette(recorded)
    assert len(after.interactions) == len(before.interactions)
    assert ACCESS_TOKEN not in recorded.read_text()  # the live /account answer echoed the token: scrubbed
    health = next(i for i in after.interactions if i.request.path == "/health")
    assert health.response.status == 503
    unchanged = next(i for i in after.interactions if i.request.query_string == "status=paid")
    assert unchanged == next(i for i in before.interactions if i.request.query_string == "status=paid")
    again_code, again = verify_json(recorded, "--against", changed_shop, "--header", f"Authorization: {BEARER}")
    assert again_code == 0 and again["counts"]["breaking"] == 0 and again["counts"]["drifted"] == 0


def test_the_recorded_target_is_the_default(recorded: Path) -> None:
    """Without --against, verify asks where the cassette was recorded; the original shop there is gone."""
    done = hudproxy("verify", recorded)
    assert done.returncode == 2 and "could not reach" in done.stderr and "Traceback" not in done.stderr


def test_include_writes_sends_them_in_recorded_order(recorded: Path) -> None:
    """Against a fresh copy of the recorded shop (a staging system), the PATCH is sent and matches too."""
    with serve_in_thread(shop(changed=False)) as staging:
        code, report = verify_json(
            recorded, "--against", staging, "--include-writes", "--header", f"Authorization: {BEARER}"
        )
    assert code == 0 and report["counts"] == {"same": 5, "drifted": 0, "breaking": 0, "skipped": 0, "failed": 0}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--header", "no colon here"], "--header 'no colon here' is not 'Name: value'"),
        (["--timeout", "0"], "--timeout 0"),
        (["--mcp-command", "python server.py"], "holds no MCP exchanges"),
        (["--mcp-url", "ftp://x"], "--mcp-url"),
    ],
)
def test_bad_input_is_one_line(recorded: Path, changed_shop: str, args: list[str], fragment: str) -> None:
    done = hudproxy("verify", recorded, "--against", changed_shop, *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and fragment in lines[0], done.stderr


def test_a_missing_cassette_is_one_line(tmp_path: Path) -> None:
    done = hudproxy("verify", tmp_path / "nope.yaml")
    assert done.returncode == 2 and "no such cassette" in done.stderr and "Traceback" not in done.stderr
