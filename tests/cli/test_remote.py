"""Off loopback, `hudproxy record` and `hudproxy replay` refuse to start (one line, exit 2) unless a token guards
the admin API or `--allow-remote` is given; then one warning names what other machines can reach."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hudproxy.cassette.files import dumps_cassette
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
ENV = {k: v for k, v in os.environ.items() if k != "HUDPROXY_ADMIN_TOKEN" and "proxy" not in k.lower()}


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    interactions = [
        make_interaction(make_request("GET", "http://api.test/health"), make_response(json={"ok": True})),
        make_interaction(make_request("GET", "https://auth.example.com/me"), make_response(json={"me": 1})),
    ]
    path = tmp_path / "shop.yaml"
    path.write_bytes(dumps_cassette(make_cassette(interactions), False))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=ENV)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "exposed"),
    [
        pytest.param(["--target", "http://127.0.0.1:9"], "a proxy to http://127.0.0.1:9", id="reverse"),
        pytest.param(["--mode", "forward"], "an open forward proxy to any host", id="forward"),
    ],
)
def test_record_refuses_a_public_host_without_allow_remote(tmp_path: Path, args: list[str], exposed: str) -> None:
    cassette = tmp_path / "new.yaml"
    line = one_line(run_cli("record", "--cassette", str(cassette), "--host", "0.0.0.0", *args, "--no-journal"))
    assert line.startswith("hudproxy: --host 0.0.0.0 is reachable from other machines")
    assert exposed in line and "--allow-remote" in line and "127.0.0.1" in line
    assert not cassette.exists()


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_replay_refuses_a_public_host_without_a_token_or_allow_remote(cassette: Path, mode: str) -> None:
    line = one_line(run_cli("replay", str(cassette), "--host", "0.0.0.0", "--mode", mode, "--no-journal"))
    assert f"the recorded answers of {cassette}" in line
    assert "--allow-remote" in line and "--admin-token" in line


def test_a_bad_max_body_is_one_line(cassette: Path) -> None:
    line = one_line(run_cli("replay", str(cassette), "--max-body", "lots", "--no-journal"))
    assert "--max-body 'lots'" in line and "64MB" in line


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def start(processes: list[subprocess.Popen[str]], port: int, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*CLI, *args, "--host", "0.0.0.0", "--port", str(port), "--allow-remote", "--no-journal"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    processes.append(process)
    assert wait_for_port("127.0.0.1", port), process.stderr.read() if process.poll() is not None else "no port"
    return process


def warning_of(process: subprocess.Popen[str]) -> str:
    process.terminate()
    process.wait(timeout=10)
    assert process.stderr is not None
    return process.stderr.read()


def test_replay_with_allow_remote_serves_and_says_what_it_exposes(
    cassette: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port("0.0.0.0")
    process = start(started, port, "replay", str(cassette))
    assert httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False).json() == {"ok": True}
    warning = warning_of(process)
    assert "warning: --host 0.0.0.0 is reachable from other machines" in warning
    assert "(for api.test, auth.example.com)" in warning
    assert "the admin API at /_hudproxy (with no token" in warning and "the journal" in warning


def test_record_with_allow_remote_starts_and_warns(tmp_path: Path, started: list[subprocess.Popen[str]]) -> None:
    port = free_port("0.0.0.0")
    cassette = tmp_path / "new.yaml"
    process = start(started, port, "record", "--cassette", str(cassette), "--target", "http://127.0.0.1:9")
    warning = warning_of(process)
    assert "warning: --host 0.0.0.0 is reachable from other machines" in warning
    assert f"a proxy to http://127.0.0.1:9, with what they send written to {cassette}" in warning


@pytest.mark.parametrize("command", ["serve", "dev"])
def test_serve_and_dev_refuse_a_public_host_without_allow_remote(command: str) -> None:
    line = one_line(run_cli(command, "envs/shop/env.py", "--host", "0.0.0.0", "--port", "9"))
    assert line.startswith("hudproxy: --host 0.0.0.0 is reachable from other machines")
    assert "the tools of envs/shop/env.py" in line and "--allow-remote" in line and "127.0.0.1" in line


def test_serve_with_allow_remote_serves_and_warns(started: list[subprocess.Popen[str]]) -> None:
    port = free_port("0.0.0.0")
    process = subprocess.Popen(
        [*CLI, "serve", "envs/shop/env.py", "--host", "0.0.0.0", "--port", str(port), "--allow-remote"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    started.append(process)
    assert wait_for_port("127.0.0.1", port, timeout=30), "no port"
    warning = warning_of(process)
    assert "warning: --host 0.0.0.0 is reachable from other machines: anyone who can connect gets the tools" in warning
