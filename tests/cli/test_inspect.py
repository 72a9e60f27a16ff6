"""`hudproxy inspect` on a small recorded cassette: the table, filters, one interaction in full, JSON, and --why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request

from hudproxy.cassette.files import load_cassette
from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder
from hudproxy.serving import serve_in_thread

HUDPROXY = shutil.which("hudproxy") or "hudproxy"
ENV = {**os.environ, "COLUMNS": "200"}  # rich wraps at 80 columns when it is not writing to a terminal

RECORDED = [
    (0, "GET", "/health", 200),
    (1, "GET", "/orders/A1?expand=items", 200),
    (2, "PATCH", "/orders/A1", 200),
    (3, "GET", "/orders/A1?expand=items", 200),
    (4, "GET", "/orders/A9", 404),
    (5, "POST", "/refunds", 201),
]


def orders_app() -> FastAPI:
    app = FastAPI()
    orders = {"A1": {"id": "A1", "status": "pending", "items": [{"sku": "SKU-1", "qty": 2}]}}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/orders/{order_id}")
    def get_order(order_id: str) -> dict[str, Any]:
        if order_id not in orders:
            raise HTTPException(404, f"order {order_id} not found")
        return orders[order_id]

    @app.patch("/orders/{order_id}")
    async def patch_order(order_id: str, request: Request) -> dict[str, Any]:
        orders[order_id]["status"] = (await request.json())["status"]
        return orders[order_id]

    @app.post("/refunds", status_code=201)
    async def refund(request: Request) -> dict[str, Any]:
        return {"id": "R1", **(await request.json())}

    return app


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six interactions of RECORDED, recorded through the real proxy."""
    path = tmp_path_factory.mktemp("inspect") / "orders.yaml"
    with serve_in_thread(orders_app()) as upstream:
        recorder = Recorder(path, "all", target=upstream)
        with recording_proxy(recorder, upstream) as url, httpx.Client(base_url=url, trust_env=False) as client:
            client.get("/health")
            client.get("/orders/A1?expand=items")
            client.patch("/orders/A1", json={"status": "paid"})
            client.get("/orders/A1?expand=items")
            client.get("/orders/A9")
            client.post("/refunds", json={"order_id": "A1", "amount": 5})
    return path


def inspect(cassette: Path, *args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUDPROXY, "inspect", str(cassette), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        cwd=cassette.parent,
    )


def table_rows(output: str) -> list[tuple[int, str, str, int]]:
    """(index, method, url, status) of each body row of rich's table (header cells use ┃, body cells │)."""
    rows = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells:
            rows.append((int(cells[0]), cells[1], cells[2], int(cells[3])))
    return rows


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("hudproxy:"), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def request_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "req.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


# ---------------------------------------------------------------- the table


def test_table_lists_every_interaction(cassette: Path) -> None:
    result = inspect(cassette)
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout) == RECORDED
    assert "6 of 6 interactions" in " ".join(result.stdout.split())  # rich wraps the title to the table's width


@pytest.mark.parametrize(
    ("filters", "indexes"),
    [
        pytest.param(["method=patch"], [2], id="method-any-case"),
        pytest.param(["status=4xx"], [4], id="status-class"),
        pytest.param(["status=201"], [5], id="status-exact"),
        pytest.param(["path=/orders/*"], [1, 2, 3, 4], id="path-glob"),
        pytest.param(["method=GET", "path=/orders/*"], [1, 3, 4], id="all-terms-hold"),
    ],
)
def test_filters_choose_rows(cassette: Path, filters: list[str], indexes: list[int]) -> None:
    result = inspect(cassette, *(arg for term in filters for arg in ("--filter", term)))
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout) == [row for row in RECORDED if row[0] in indexes]
    assert f"{len(indexes)} of 6 interactions" in " ".join(result.stdout.split())


def test_json_lists_the_same_rows(cassette: Path) -> None:
    result = inspect(cassette, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["index"], r["method"], r["target"], r["status"]) for r in rows] == RECORDED


# ---------------------------------------------------------------- one interaction


def test_show_prints_headers_and_pretty_json(cassette: Path) -> None:
    result = inspect(cassette, "--show", 2)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "interaction 2" in out
    assert "PATCH http://127.0.0.1:" in out and "/orders/A1" in out
    assert "  content-type: application/json" in out
    response = json.loads(load_cassette(cassette).interactions[2].response.body)
    assert response["status"] == "paid"
    assert json.dumps(response, indent=2) in out
    assert json.dumps({"status": "paid"}, indent=2) in out  # the request body, pretty too


def test_show_as_json(cassette: Path) -> None:
    result = inspect(cassette, "--show", 5, "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["index"], shown["request"]["method"], shown["response"]["status"]) == (5, "POST", 201)
    assert json.loads(shown["request"]["body"]) == {"order_id": "A1", "amount": 5}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(["--show", 999], ["--show 999", "0 to 5"], id="show-out-of-range"),
        pytest.param(["--filter", "bogus"], ["'bogus'", "KEY=VALUE"], id="filter-not-key-value"),
        pytest.param(["--filter", "colour=red"], ["'colour=red'", "method, path, status"], id="filter-unknown-key"),
    ],
)
def test_bad_options_are_one_line_errors(cassette: Path, args: list[Any], fragments: list[str]) -> None:
    assert_one_line_error(inspect(cassette, *args), *fragments)


# ---------------------------------------------------------------- --why

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("request_spec", "index"),
    [
        pytest.param({"method": "GET", "url": "/orders/A1?expand=items"}, 1, id="get"),
        pytest.param({"url": "/health"}, 0, id="method-defaults-to-get"),
        pytest.param({"method": "PATCH", "url": "/orders/A1", "headers": JSON_HEADERS, "body": '{"status":"paid"}'},
                     2, id="patch-body"),
        pytest.param({"method": "PATCH", "url": "/orders/A1", "json": {"status": "paid"}}, 2, id="patch-json"),
    ],
)  # fmt: skip
def test_why_names_the_matching_interaction(
    cassette: Path, tmp_path: Path, request_spec: dict[str, Any], index: int
) -> None:
    result = inspect(cassette, "--why", request_file(tmp_path, request_spec))
    assert result.returncode == 0, result.stderr
    assert f"matches interaction {index}: " in result.stdout


REFUND_7 = {"order_id": "A1", "amount": 7}


@pytest.mark.parametrize(
    ("request_spec", "nearest", "differs"),
    [
        pytest.param({"method": "GET", "url": "/orders/A1?expand=customer"}, "interaction 1: GET /orders/A1",
                     'differs: query expand: "customer" (recorded "items")', id="query-key"),
        pytest.param({"method": "POST", "url": "/refunds", "headers": JSON_HEADERS, "body": json.dumps(REFUND_7)},
                     "interaction 5: POST /refunds", "differs: body.amount: 7 (recorded 5)", id="body-field"),
        pytest.param({"method": "POST", "url": "/refunds", "json": REFUND_7},
                     "interaction 5: POST /refunds", "differs: body.amount: 7 (recorded 5)", id="body-field-json"),
    ],
)  # fmt: skip
def test_why_shows_the_nearest_and_what_differs(
    cassette: Path, tmp_path: Path, request_spec: dict[str, Any], nearest: str, differs: str
) -> None:
    result = inspect(cassette, "--why", request_file(tmp_path, request_spec))
    assert result.returncode == 1, result.stderr  # no match: exit 1, so a script can ask with the exit code alone
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[0].startswith(f"unmatched: {request_spec['method']} {request_spec['url']}")
    assert lines[1].startswith(f"#1 nearest: {nearest}")
    assert lines[2] == differs


def test_why_as_json(cassette: Path, tmp_path: Path) -> None:
    result = inspect(cassette, "--why", request_file(tmp_path, {"url": "/orders/A1?expand=all"}), "--json")
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    assert answer["matched"] is None
    assert answer["nearest"][0]["interaction"] == 1
    assert answer["nearest"][0]["differences"] == ['query expand: "all" (recorded "items")']


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        pytest.param('{"method": "GET", "url": ', ["req.json:1", "not valid JSON"], id="not-json"),
        pytest.param({"method": "GET"}, ["req.json", "url"], id="no-url"),
    ],
)
def test_why_with_a_malformed_request_file_is_a_one_line_error(
    cassette: Path, tmp_path: Path, content: Any, fragments: list[str]
) -> None:
    assert_one_line_error(inspect(cassette, "--why", request_file(tmp_path, content)), *fragments)
