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
from typing import TYPE_CHECKING

from hudproxy.errors import JournalError
from hudproxy.journal.migrations import migrate
from hudproxy.journal.tables import CALL_LOG, CALLS, RUNS

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["is_journal", "migrate", "open_for_reading", "open_journal", "start_run"]

LOCK_TIMEOUT = 30.0  # seconds another process's migration or batch may hold the file's write lock


def _connection(db: sqlite_utils.Database | sqlite3.Connection) -> sqlite3.Connection:
    """The plain connection under a sqlite-utils Database (or the connection itself)."""
    return db if isinstance(db, sqlite3.Connection) else db.conn


def _table_names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")]


def is_journal(db: sqlite_utils.Database | sqlite3.Connection) -> bool:
    """A hudproxy journal of any version: `call_log` holds the rows since version 6, a `calls` table before; an
    eval results file has a `calls` table too, but keyed by `run_id`, and is not one."""
    conn = _connection(db)
    tables = _table_names(conn)
    if CALL_LOG in tables:
        return True
    return CALLS in tables and "run_id" not in {row[1] for row in conn.execute(f"PRAGMA table_info([{CALLS}])")}


def start_run(db: sqlite_utils.Database | sqlite3.Connection, source: str, started: str) -> int:
    """A new `runs` row for a writer that is about to write: its id goes into every row it writes."""
    conn = _connection(db)
    with conn:
        return conn.execute(f"insert into {RUNS} (source, started) values (?, ?)", [source, started]).lastrowid or 0


def _enable_wal(conn: sqlite3.Connection) -> None:
    """sqlite-utils' `enable_wal`, on a plain connection: switch only when not in WAL already."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode=wal")


def _prepare(conn: sqlite3.Connection) -> None:
    """WAL mode and migrations. Two processes switching one new file to WAL at once can deadlock on its locks,
    which SQLite breaks by failing one of them at once ("database is locked", no wait): that one tries again."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            migrate(conn)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def open_journal(path: str, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and, unless read-only, migrate) a journal database in WAL mode, as a sqlite-utils Database."""
    import sqlite_utils  # deferred: it imports numpy (~0.15 s), which a replay server's journal writer never needs

    return sqlite_utils.Database(open_connection(path, readonly))


def open_connection(path: str, readonly: bool = False) -> sqlite3.Connection:
    """Open (and, unless read-only, migrate) a journal database in WAL mode, as a plain sqlite3 connection.

    A file that is not SQLite, or a SQLite database of some other program's (tables, but no journal's), is a
    JournalError naming the file: hudproxy never adds its tables to someone else's database."""
    if Path(path).is_dir():
        raise JournalError(f"{path}: is a folder; give a journal file, e.g. {Path(path) / 'journal.db'}.")
    try:
        conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT)
        tables = _table_names(conn)
        if tables and not is_journal(conn):
            conn.close()
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise JournalError(
                f"{path}: a SQLite database, but not a hudproxy journal (its tables: {shown}); "
                "give a new file or one hudproxy wrote."
            )
        if readonly:
            return conn
        _prepare(conn)
        return conn
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
