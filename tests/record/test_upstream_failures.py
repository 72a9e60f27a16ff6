"""A target that is down or wrong: the client gets a 502 whose JSON names the target and the cause (refused, dns,
tls, timeout), the log an ERROR (visible without -v), the journal a row; the cassette nothing.

Each upstream is real: a closed port, a `.invalid` name, an HTTP server addressed as https, and a listener that
accepts and never answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from hudproxy.journal.writer import JournalWriter
from hudproxy.netutil import free_port
from hudproxy.proxy.record_addon import RecordAddon
from hudproxy.proxy.runner import proxy_in_thread
from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder
from hudproxy.scrub.policy import ScrubPolicy
from tests.processes import hudproxy_listening

CURL = shutil.which("curl")
NO_PROXY_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


@contextlib.contextmanager
def silent_upstream() -> Iterator[str]:
    """Accepts connections (the kernel's backlog does) and never answers a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def targets(traffic_url: str, closed_port: int) -> dict[str, str]:
    port = traffic_url.rsplit(":", 1)[1]
    return {
        "refused": f"http://127.0.0.1:{closed_port}",
        "dns": "http://hudproxy-test.invalid",
        "tls": f"https://127.0.0.1:{port}",  # a plain HTTP server, addressed as https
    }


def journal_rows(db: Path) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM calls WHERE session = 'recording' ORDER BY seq")]


def check_answer(status: int, body: bytes, target: str, cause: str) -> None:
    assert status == 502, body
    answer = json.loads(body)
    assert answer["target"] == target and answer["cause"] == cause, answer
    assert answer["request"] == "GET /orders/A1"


@pytest.mark.parametrize("cause", ["refused", "dns", "tls"])
def test_a_failed_upstream_is_a_502_naming_target_and_cause_for_real_clients(
    cause: str, traffic: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    target, cassette, db = targets(traffic.url, closed_port)[cause], tmp_path / "c.yaml", tmp_path / "journal.db"
    recorder = Recorder(cassette, "all", target=target, journal=JournalWriter(db, ScrubPolicy.default()))
    with caplog.at_level("ERROR", logger="hudproxy"), recording_proxy(recorder, target) as proxy:
        with httpx.Client(base_url=proxy, trust_env=False, timeout=20) as client:
            answer = client.get("/orders/A1")
            check_answer(answer.status_code, answer.content, target, cause)
            assert answer.headers["content-type"] == "application/json"
            second = client.get("/orders/A1")  # the proxy is still there for the next request
            check_answer(second.status_code, second.content, target, cause)
        with requests.Session() as session:
            session.trust_env = False
            got = session.get(f"{proxy}/orders/A1", timeout=20)
            check_answer(got.status_code, got.content, target, cause)
        if CURL:
            done = subprocess.run(
                [CURL, "-sS", f"{proxy}/orders/A1"], capture_output=True, timeout=30, env=NO_PROXY_ENV
            )
            assert done.returncode == 0, done.stderr
            check_answer(502, done.stdout, target, cause)
    assert not cassette.exists(), "a failure is never recorded (a run that records nothing writes no file)"
    assert traffic.seen == [], "the https attempt sent no request the server could read"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name == "hudproxy.record"]
    assert len(errors) == 3 + bool(CURL) and all(f"({cause})" in e and target in e for e in errors), errors
    rows = journal_rows(db)
    assert [(r["status"], r["path"]) for r in rows] == [(502, "/orders/A1")] * (3 + bool(CURL))
    assert json.loads(rows[0]["response_body"])["cause"] == cause


@pytest.fixture
def hudproxy_record(tmp_path: Path) -> Iterator[Any]:
    """Start `hudproxy record` as a real process; every process started is stopped at the end."""
    with contextlib.ExitStack() as stack:

        def start(*options: str) -> tuple[subprocess.Popen[str], str]:
            port = free_port()
            argv = ["record", "--cassette", str(tmp_path / "c.yaml"), "--journal", str(tmp_path / "journal.db"),
                    "--port", str(port), *options]  # fmt: skip
            return stack.enter_context(hudproxy_listening(argv, port, timeout=30))

        yield start


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return out, err


def test_the_cli_answers_a_closed_port_with_a_502_and_logs_it_without_verbose(
    hudproxy_record: Any, tmp_path: Path, closed_port: int
) -> None:
    target = f"http://127.0.0.1:{closed_port}"
    process, proxy = hudproxy_record("--target", target)
    answer = httpx.get(f"{proxy}/orders/A1", trust_env=False, timeout=20)
    check_answer(answer.status_code, answer.content, target, "refused")
    out, err = stop(process)
    assert "stopped: 0 new interactions" in out
    assert "refused" in err and target in err and "GET /orders/A1" in err, err
    assert "Traceback" not in err
    assert [r["status"] for r in journal_rows(tmp_path / "journal.db")] == [502]


def test_an_upstream_that_never_answers_times_out_as_a_502(hudproxy_record: Any, tmp_path: Path) -> None:
    with silent_upstream() as target:
        process, proxy = hudproxy_record("--target", target, "--upstream-timeout", "1")
        answer = httpx.get(f"{proxy}/orders/A1", trust_env=False, timeout=20)
        check_answer(answer.status_code, answer.content, target, "timeout")
        assert "--upstream-timeout" in answer.json()["detail"]
        _, err = stop(process)
    assert "timeout" in err and target in err, err
    assert [r["status"] for r in journal_rows(tmp_path / "journal.db")] == [502]
    assert not (tmp_path / "c.yaml").exists(), "nothing recorded, no file"


def test_a_negative_upstream_timeout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    command = [shutil.which("hudproxy") or "hudproxy", "record", "--target", "http://127.0.0.1:9",
               "--cassette", str(tmp_path / "c.yaml"), "--upstream-timeout", "-1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2 and "--upstream-timeout" in done.stderr and "Traceback" not in done.stderr


@contextlib.contextmanager
def unconnectable_upstream() -> Iterator[str]:
    """A listener whose accept queue is full: the kernel drops further SYNs, so a connect never completes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    filler = socket.create_connection(sock.getsockname(), timeout=5)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        filler.close()
        sock.close()


def test_an_upstream_whose_connect_never_completes_times_out_as_a_502(tmp_path: Path) -> None:
    with unconnectable_upstream() as target:
        recorder = Recorder(tmp_path / "c.yaml", "all", target=target)
        addon = RecordAddon(recorder, upstream_timeout=1.0)
        with proxy_in_thread([addon], f"reverse:{target}") as proxy:
            answer = httpx.get(f"{proxy}/orders/A1", trust_env=False, timeout=20)  # the OS gives up after ~2 min
        recorder.close()
    check_answer(answer.status_code, answer.content, target, "timeout")


def test_a_passthrough_miss_whose_upstream_is_down_gets_the_recorders_502(
    traffic: Any, record: Any, replay: Any, closed_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`--unmatched passthrough` to a dead target: before, the exception reached uvicorn (500 and a traceback)."""
    cassette = tmp_path / "c.yaml"
    with record(cassette, traffic.url) as client:
        client.get("/json")
    before = cassette.read_bytes()
    target = f"http://127.0.0.1:{closed_port}"
    with replay(cassette, unmatched="passthrough", target=target) as client:
        answer = client.get("/orders/A1", params={"api_key": "never-in-a-log-42"})
    check_answer(answer.status_code, answer.content, target, "refused")
    assert "never-in-a-log-42" not in answer.text and "never-in-a-log-42" not in caplog.text
    assert "Traceback" not in caplog.text and "not forwarded: GET /orders/A1" in caplog.text
    assert cassette.read_bytes() == before
