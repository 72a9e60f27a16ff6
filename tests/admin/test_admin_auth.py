"""The admin token: required on every admin path when set, never on replay; the CLI refuses an open admin API
off loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from admin_server import Start

from hudproxy.admin import is_loopback
from hudproxy.netutil import free_port, wait_for_port

TOKEN = "s3cret-token"
ADMIN_PATHS = ("/_hudproxy/health", "/_hudproxy/sessions", "/_hudproxy/openapi.json", "/_hudproxy/docs")
CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_without_the_token_every_admin_path_is_401_json(start: Start, path: str) -> None:
    response = start(token=TOKEN).client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": f"Bearer {TOKEN}"}, id="bearer"),
        pytest.param({"Authorization": f"bearer {TOKEN}"}, id="bearer-lowercase-scheme"),
        pytest.param({"X-Hudproxy-Admin-Token": TOKEN}, id="x-hudproxy-admin-token"),
    ],
)
def test_with_the_token_admin_calls_succeed(start: Start, headers: dict[str, str]) -> None:
    client = start(token=TOKEN).client
    assert client.get("/_hudproxy/health", headers=headers).status_code == 200
    assert client.post("/_hudproxy/sessions", json={"id": "alice"}, headers=headers).status_code == 201


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer wrong"}, id="wrong-bearer"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="other-scheme"),
        pytest.param({"X-Hudproxy-Admin-Token": TOKEN[:-1]}, id="prefix-of-token"),
        pytest.param({"X-Hudproxy-Admin-Token": ""}, id="empty"),
    ],
)
def test_a_wrong_token_is_401(start: Start, headers: dict[str, str]) -> None:
    assert start(token=TOKEN).client.get("/_hudproxy/health", headers=headers).status_code == 401


def test_replay_itself_needs_no_token(start: Start) -> None:
    response = start(token=TOKEN).client.get("/s/alice/orders/A1")
    assert response.json()["status"] == "pending"


def test_on_loopback_without_a_token_admin_is_open(start: Start) -> None:
    assert start().client.get("/_hudproxy/health").status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        pytest.param("127.0.0.1", True, id="ipv4"),
        pytest.param("127.8.9.10", True, id="ipv4-slash-8"),
        pytest.param("::1", True, id="ipv6"),
        pytest.param("[::1]", True, id="ipv6-bracketed"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("0.0.0.0", False, id="all-ipv4"),
        pytest.param("::", False, id="all-ipv6"),
        pytest.param("192.168.1.5", False, id="lan"),
        pytest.param("example.com", False, id="hostname"),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "HUDPROXY_ADMIN_TOKEN"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env={**clean, **(env or {})})


def test_cli_refuses_a_public_host_without_a_token(cassette_path: Path, tmp_path: Path) -> None:
    result = run_cli("replay", str(cassette_path), "--host", "0.0.0.0", "--journal", str(tmp_path / "j.db"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hudproxy: --host 0.0.0.0 is reachable from other machines")
    assert "--admin-token" in lines[0] and "HUDPROXY_ADMIN_TOKEN" in lines[0]
    assert not (tmp_path / "j.db").exists()


def test_cli_on_a_public_host_with_the_token_from_the_environment(cassette_path: Path, tmp_path: Path) -> None:
    port = free_port("0.0.0.0")
    args = [*CLI, "replay", str(cassette_path), "--host", "0.0.0.0", "--port", str(port)]
    args += ["--journal", str(tmp_path / "j.db")]
    env = {**os.environ, "HUDPROXY_ADMIN_TOKEN": TOKEN}
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_port("127.0.0.1", port), process.stderr.read() if process.poll() is not None else "no port"
        base = f"http://127.0.0.1:{port}/_hudproxy/health"
        assert httpx.get(base, trust_env=False).status_code == 401
        ok = httpx.get(base, headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False)
        assert ok.status_code == 200 and ok.json()["interactions"] == 5
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "admin API: http://0.0.0.0" in process.stdout.read()
