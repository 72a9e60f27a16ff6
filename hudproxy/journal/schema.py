"""Opening journal files: which files are journals, WAL mode, migrating older ones, a run's registration.

A file opened in plain sqlite3, sqlite-utils or datasette shows:
- `calls` (a view): one readable row per request the replay server (or the recorder) saw, everything joined in;
  `calls_full` is the same view under the name older journals used;
- `call_log`: what is written per call, kept small because it is written on every request: session, seq,
  unix time, status, ids into the tables below, and only for the calls that have them the kind, response
  body, diagnosis and parent;
- `requests`: each distinct request (method, URL, scrubbed headers and body) once per run, since agents and load
  tests send the same requests again and again;
- `responses`: the recorded responses served, once per run and interaction;
- `runs`: each server or recorder run that wrote to the file (`source`: the cassette's path @ when it started).

The SQL of each layout version, and of the views, is in `migrations`.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlite_utils

from hudproxy.errors import JournalError
from hudproxy.journal.migrations import migrate
from hudproxy.journal.tables import CALL_LOG, CALLS, RUNS

__all__ = ["is_journal", "migrate", "open_for_reading", "open_journal", "start_run"]

LOCK_TIMEOUT = 30.0  # seconds another process's migration or batch may hold the file's write lock


def is_journal(db: sqlite_utils.Database) -> bool:
    """A hudproxy journal of any version: `call_log` holds the rows since version 6, a `calls` table before; an
    eval results file has a `calls` table too, but keyed by `run_id`, and is not one."""
    tables = db.table_names()
    if CALL_LOG in tables:
        return True
    return CALLS in tables and "run_id" not in db[CALLS].columns_dict


def start_run(db: sqlite_utils.Database, source: str, started: str) -> int:
    """A new `runs` row for a writer that is about to write: its id goes into every row it writes."""
    with db.conn:
        return db.conn.execute(f"insert into {RUNS} (source, started) values (?, ?)", [source, started]).lastrowid or 0


def _prepare(db: sqlite_utils.Database) -> None:
    """WAL mode and migrations. Two processes switching one new file to WAL at once can deadlock on its locks,
    which SQLite breaks by failing one of them at once ("database is locked", no wait): that one tries again."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL")
            migrate(db)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def open_journal(path: str, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and, unless read-only, migrate) a journal database in WAL mode.

    A file that is not SQLite, or a SQLite database of some other program's (tables, but no journal's), is a
    JournalError naming the file: hudproxy never adds its tables to someone else's database."""
    if Path(path).is_dir():
        raise JournalError(f"{path}: is a folder; give a journal file, e.g. {Path(path) / 'journal.db'}.")
    try:
        db = sqlite_utils.Database(sqlite3.connect(path, timeout=LOCK_TIMEOUT))
        tables = db.table_names()
        if tables and not is_journal(db):
            db.close()
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise JournalError(
                f"{path}: a SQLite database, but not a hudproxy journal (its tables: {shown}); "
                "give a new file or one hudproxy wrote."
            )
        if readonly:
            return db
        _prepare(db)
        return db
    except sqlite3.DatabaseError as exc:  # OperationalError (cannot open) included
        message = f"{path}: cannot use it as a journal ({exc}); give a new file or one hudproxy wrote."
        raise JournalError(message) from None


def open_for_reading(path: str | Path) -> sqlite_utils.Database | None:
    """A journal to read, or None when there is nothing to read (no file, or a file with no tables yet). Nothing
    is written to the file, except migrating a journal an older hudproxy wrote."""
    if not Path(path).exists():
        return None
    db = open_journal(str(path), readonly=True)
    if not is_journal(db):
        db.close()
        return None
    try:
        migrate(db)  # a journal an older hudproxy wrote; nothing to do for a current one
    except sqlite3.DatabaseError as exc:
        db.close()
        raise JournalError(
            f"{path}: written by an older hudproxy; reading it needs a one-time upgrade that writes to the file, "
            f"which failed ({exc}). Open it once where it is writable, or read a copy (cp {path} /tmp/)."
        ) from None
    return db
