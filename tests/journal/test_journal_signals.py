"""`hudproxy replay` as a real process under load: SIGTERM loses no journal row, SIGKILL at most the last batch.

Clients in threads send a bounded number of requests each and note when every answer arrived; the journal is
counted after the process is gone. A call is queued for the journal before its answer is sent, so a clean stop
must keep exactly the answered calls, and a SIGKILL can also leave a row whose answer never arrived.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from hudproxy.journal import read_calls, sessions_in
from hudproxy.netutil import free_port, wait_for_port

THREADS = 4
PER_THREAD = 5000  # an upper bound: the signal comes long before
LAST_BATCH = 0.1  # seconds: the bound (a crash loses at most the last batch, <= 100 ms); batches are 5 ms


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    journal: Path


@pytest.fixture
def served(journal_cassette: Path, tmp_path: Path) -> Iterator[Served]:
    port, journal = free_port(), tmp_path / "journal.db"
    command = [shutil.which("hudproxy") or "hudproxy", "replay", str(journal_cassette), "--port", str(port),
               "--journal", str(journal)]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(  # its own process group: a test can kill the server and its journal worker at once
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        if not wait_for_port("127.0.0.1", port, timeout=20):
            process.kill()
            pytest.fail(f"hudproxy replay did not listen on {port}: {process.communicate(timeout=10)}")
        yield Served(process, f"http://127.0.0.1:{port}", journal)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the journal worker, if a test left it


@dataclass
class Load:
    """Threads hammering the server, each in its own session, until the server goes away."""

    url: str
    answered: list[list[float]] = field(default_factory=lambda: [[] for _ in range(THREADS)])
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(THREADS)]
        for thread in self.threads:
            thread.start()
        return self

    def client(self, n: int) -> None:
        with httpx.Client(base_url=f"{self.url}/s/load-{n}", trust_env=False, timeout=10) as http:
            for _ in range(PER_THREAD):
                try:
                    http.get("/orders/A1").raise_for_status()
                except httpx.HTTPError:
                    return
                self.answered[n].append(time.monotonic())

    def until(self, count: int, at_least: float) -> None:
        started = time.monotonic()
        while self.total() < count or time.monotonic() - started < at_least:
            time.sleep(0.02)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=20)

    def total(self) -> int:
        return sum(map(len, self.answered))

    def answered_before(self, moment: float) -> int:
        return sum(t < moment for times in self.answered for t in times)


def rows(journal: Path) -> dict[str, int]:
    return {row["session"]: row["calls"] for row in sessions_in(journal)}


def test_sigterm_under_load_loses_nothing(served: Served) -> None:
    load = Load(served.url).start()
    load.until(count=300, at_least=0.5)
    served.process.send_signal(signal.SIGTERM)
    load.join()
    _, err = served.process.communicate(timeout=20)
    assert served.process.returncode == 0 and "Traceback" not in err, err  # a clean SIGTERM stop exits 0
    assert rows(served.journal) == {f"load-{n}": len(times) for n, times in enumerate(load.answered)}


@pytest.mark.parametrize("group", [False, True], ids=["server", "server-and-worker"])
def test_sigkill_under_load_loses_at_most_the_last_batch(served: Served, group: bool) -> None:
    """Killing the server alone leaves the worker to write what it was shipped; killing the whole group (an OOM
    kill, `docker kill`) loses what was in flight too, and still no more than the last 100 ms."""
    load = Load(served.url).start()
    load.until(count=500, at_least=2.0)  # long enough that one lost batch is under 10%
    killed_at = time.monotonic()
    if group:
        os.killpg(served.process.pid, signal.SIGKILL)
    else:
        served.process.send_signal(signal.SIGKILL)
    load.join()
    assert served.process.wait(timeout=20) == -signal.SIGKILL
    with sqlite3.connect(served.journal) as conn:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    kept, answered = len(read_calls(served.journal)), load.total()
    assert kept >= load.answered_before(killed_at - LAST_BATCH), (kept, answered)
    assert answered * 0.9 <= kept <= answered + THREADS, (kept, answered)
