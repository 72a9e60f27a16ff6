"""The store and the `calls` view: what is written compactly reads back as the writer captured it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hudproxy.evaluation.store import open_results
from hudproxy.journal import read_calls
from hudproxy.journal.rows import Captured, iso_time
from hudproxy.journal.schema import open_journal, start_run
from hudproxy.journal.store import JournalStore
from hudproxy.scrub.policy import ScrubPolicy

CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]


def call(seq: int, started: float, duration_ms: float = 1.0) -> Captured:
    headers = (("Host", "shop.test"),)
    return Captured("s", seq, started, duration_ms, "http", None, "GET", "http://shop.test/a", headers, b"", 200,
                    True, 0, (headers, b'{"ok": 1}'), None)  # fmt: skip


@pytest.mark.parametrize("fraction", [0.0, 0.2509, 0.9996, 0.5])
def test_the_view_shows_the_time_as_the_writer_formats_it(tmp_path: Path, fraction: float) -> None:
    """Milliseconds truncated, never rounded up into the next second: the same text `iso_time` gives in memory."""
    path = str(tmp_path / "j.db")
    db = open_journal(path)
    store = JournalStore(path, ScrubPolicy.default(), start_run(db, "c.yaml@t", "t"))
    db.close()
    started = 1764496801 + fraction
    store.write([call(1, started, 1.23456), call(2, started)])
    store.close()
    first, second = read_calls(path)
    assert first.time == second.time == iso_time(started)
    assert first.duration_ms == 1.235 and first.response_body == second.response_body == '{"ok": 1}'


def test_an_eval_results_file_is_not_taken_for_a_journal(tmp_path: Path) -> None:
    """It has a `calls` table too: `hudproxy journal` says what it is in one line and never migrates it."""
    results = tmp_path / "results.db"
    open_results(results).close()
    before = results.read_bytes()
    shown = subprocess.run([*CLI, "journal", "--db", str(results)], capture_output=True, text=True, timeout=60)
    said = (shown.stdout + shown.stderr).strip()
    assert shown.returncode != 0 and "Traceback" not in said and len(said.splitlines()) <= 3, said
    assert "not a hudproxy journal" in said and str(results) in said.replace("\n", "")
    assert results.read_bytes() == before
