"""Several processes opening one new journal file at the same moment (servers started together) all get it."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from hudproxy.journal.migrations import MIGRATIONS
from hudproxy.journal.schema import open_journal

OPENERS = 8


def _open_when_released(path: str, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        open_journal(path).close()
    except Exception as exc:  # reported to the test, which names it
        errors.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_journal_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    for attempt in range(5):  # the race is in a few ms after the barrier; five rounds make a miss unlikely
        path = str(tmp_path / f"journal-{attempt}.db")
        barrier, errors = context.Barrier(OPENERS), context.Queue()
        workers = [context.Process(target=_open_when_released, args=(path, barrier, errors)) for _ in range(OPENERS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
        assert failures == [] and all(w.exitcode == 0 for w in workers)
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            assert conn.execute("select count(*) from calls").fetchone()[0] == 0
