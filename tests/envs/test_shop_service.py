"""End-to-end tests of the example shop and its scripted client over real sockets."""

import gzip
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from envs.shop import client as shop_client
from envs.shop.client import Step, run_script
from envs.shop.service import (
    ACCESS_TOKEN,
    CATALOG_IMAGE,
    SESSION_COOKIE,
    create_app,
    serve_in_thread,
)

SERVICE_PY = Path(__file__).resolve().parents[2] / "envs" / "shop" / "service.py"

EXPECTED_STATUSES = [
    ("health", 200),
    ("get_order", 200),
    ("get_order_again", 200),
    ("login", 200),
    ("ship_order", 200),
    ("get_shipped_order", 200),
    ("search_paid_page_1", 200),
    ("search_paid_page_2", 200),
    ("get_refund_order", 200),
    ("refund", 201),
    ("daily_report", 200),
    ("events", 200),
    ("catalog_image", 200),
    ("missing_order", 404),
]


@pytest.fixture
def base_url() -> Iterator[str]:
    """A fresh shop (fresh state) on a free loopback port for each test."""
    with serve_in_thread(create_app()) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """Plain client for direct calls the script does not make."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        yield client


def _by_name(steps: list[Step]) -> dict[str, Step]:
    return {step.name: step for step in steps}


def _json(step: Step) -> dict[str, Any]:
    return json.loads(step.body)


def test_script_statuses_in_order(base_url: str) -> None:
    steps = run_script(base_url)
    assert [(s.name, s.status) for s in steps] == EXPECTED_STATUSES
    assert steps[0].body == b'{"status":"ok"}'


def test_patch_changes_later_reads(base_url: str) -> None:
    steps = _by_name(run_script(base_url))
    assert _json(steps["get_order"])["status"] == "pending"
    assert steps["get_order"].body == steps["get_order_again"].body
    assert _json(steps["ship_order"])["status"] == "shipped"
    shipped = _json(steps["get_shipped_order"])
    assert shipped["status"] == "shipped"
    assert {"id", "customer", "status", "total", "items"} <= shipped.keys()


def test_pagination_of_paid_search(base_url: str) -> None:
    steps = _by_name(run_script(base_url))
    first, second = _json(steps["search_paid_page_1"]), _json(steps["search_paid_page_2"])
    assert (first["page"], first["per_page"], first["total"], first["next_page"]) == (1, 3, 4, 2)
    assert (second["page"], second["next_page"], len(second["items"])) == (2, None, 1)
    ids = [o["id"] for o in first["items"] + second["items"]]
    assert ids == ["A2", "A5", "A8", "A11"]
    assert all(o["status"] == "paid" for o in first["items"] + second["items"])


def test_default_page_size_and_unfiltered_search(http: httpx.Client) -> None:
    body = http.get("/orders").json()
    assert (body["per_page"], body["total"], len(body["items"]), body["next_page"]) == (5, 12, 5, 2)
    assert http.get("/orders", params={"status": "lost"}).status_code == 422


def test_refund_uses_login_token(base_url: str) -> None:
    steps = _by_name(run_script(base_url))
    assert _json(steps["login"]) == {"access_token": ACCESS_TOKEN, "token_type": "bearer"}
    assert _json(steps["refund"]) == {
        "id": "R1", "order_id": "A2", "amount": 12.5, "status": "approved",
    }


def test_refund_requires_bearer_token(http: httpx.Client) -> None:
    refund = {"order_id": "A2", "amount": 5}
    assert http.post("/refunds", json=refund).status_code == 401
    wrong = http.post("/refunds", json=refund, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "missing or invalid bearer token"}
    auth = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    ids = [http.post("/refunds", json=refund, headers=auth).json()["id"] for _ in range(2)]
    assert ids == ["R1", "R2"]


def test_refund_sets_session_cookie(http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    response = http.post("/refunds", json={"order_id": "A1", "amount": 1}, headers=auth)
    assert response.status_code == 201
    assert response.headers["set-cookie"] == SESSION_COOKIE


def test_login_rejects_wrong_password(http: httpx.Client) -> None:
    response = http.post("/auth/token", json={"username": "demo", "password": "x"})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid credentials"}


def test_invalid_status_and_unknown_order(http: httpx.Client) -> None:
    assert http.patch("/orders/A1", json={"status": "lost"}).status_code == 422
    missing = http.patch("/orders/ZZ", json={"status": "paid"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "order ZZ not found"}


def test_daily_report_is_gzip_on_the_wire(http: httpx.Client, base_url: str) -> None:
    with http.stream("GET", "/reports/daily") as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "application/json"
    decoded = gzip.decompress(raw)
    assert len(decoded) > 2000
    assert json.loads(decoded)["generated_at"] == "2026-01-01T00:00:00Z"
    assert _by_name(run_script(base_url))["daily_report"].body == decoded


def test_events_stream_has_four_events(http: httpx.Client, base_url: str) -> None:
    with http.stream("GET", "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
    body = _by_name(run_script(base_url))["events"].body
    events = [chunk for chunk in body.decode().split("\n\n") if chunk]
    assert len(events) == 4
    assert all(event.startswith("event: order\ndata: {") for event in events)
    assert [json.loads(e.split("data: ", 1)[1])["seq"] for e in events] == [1, 2, 3, 4]


def test_catalog_image_is_fixed_binary(base_url: str) -> None:
    image = _by_name(run_script(base_url))["catalog_image"]
    assert image.body == CATALOG_IMAGE == bytes(range(256)) * 8


def test_two_fresh_apps_give_identical_runs() -> None:
    runs = []
    for _ in range(2):
        with serve_in_thread(create_app()) as url:
            runs.append(run_script(url))
    assert runs[0] == runs[1]


def test_serve_in_thread_stops_on_exit() -> None:
    with serve_in_thread(create_app()) as url:
        assert httpx.get(f"{url}/health", trust_env=False).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", trust_env=False, timeout=2)


def test_in_thread_server_has_no_nagle_delay(http: httpx.Client) -> None:
    """Regression: without TCP_NODELAY every response took ~44 ms (20 calls ~0.9 s)."""
    http.get("/health")
    start = time.monotonic()
    for _ in range(20):
        http.get("/health")
    assert time.monotonic() - start < 0.6


def test_client_main_prints_a_line_per_step(
    base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shop_client.main(["--base-url", base_url])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [name for name, _ in EXPECTED_STATUSES]
    assert lines[-1].split()[3] == "404"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", trust_env=False, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("service CLI did not become healthy")


def test_service_cli_runs_as_script() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVICE_PY), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        assert [s.status for s in run_script(url)] == [code for _, code in EXPECTED_STATUSES]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
