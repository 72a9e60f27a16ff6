"""The journal's tables and their named migrations: the one place that knows the SQL layout.

A file opened in plain sqlite3, sqlite-utils or datasette shows:
- `calls`: one row per request the replay server (or the recorder) saw;
- `responses`: the recorded responses served, once each per cassette and server run (`source`: the cassette's
  path @ when the server started) and interaction, so a replay
  answered from the cassette does not copy the same body into every row;
- `calls_full` (a view): `calls` with `response_body` filled from `responses` where it came from the cassette.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from hudproxy.errors import JournalError
from hudproxy.journal.tables import CALLS, CALLS_FULL, RESPONSES

__all__ = ["CALLS", "CALLS_FULL", "RESPONSES", "migrate", "open_for_reading", "open_journal"]

CALL_COLUMNS: dict[str, type] = {
    "id": int,
    "session": str,
    "seq": int,
    "time": str,
    "kind": str,
    "method": str,
    "url": str,
    "path": str,
    "query": str,
    "request_headers": str,
    "request_body": str,
    "status": int,
    "response_body": str,
    "matched": int,
    "interaction": int,
    "diagnosis": str,
    "duration_ms": float,
}


CALLS_FULL_SQL = (
    f"create view {CALLS_FULL} as select c.id, c.session, c.seq, c.time, c.kind, c.method, c.url, c.path, "
    "c.query, c.request_headers, c.request_body, c.status, "
    "coalesce(c.response_body, r.response_body) as response_body, c.matched, c.interaction, c.diagnosis, "
    f"c.duration_ms, c.source, c.parent from {CALLS} c left join {RESPONSES} r "
    "on r.source = c.source and r.interaction = c.interaction"
)


def _create_calls(db: sqlite_utils.Database) -> None:
    db[CALLS].create(CALL_COLUMNS, pk="id", not_null={"session", "seq", "kind"})  # type: ignore[union-attr]
    db[CALLS].create_index(["session", "seq"])  # type: ignore[union-attr]
    db[CALLS].create_index(["matched"])  # type: ignore[union-attr]


def _dedupe_responses(db: sqlite_utils.Database) -> None:
    db[CALLS].add_column("source", str)  # type: ignore[union-attr]
    db[RESPONSES].create(  # type: ignore[union-attr]
        {"source": str, "interaction": int, "status": int, "response_body": str}, pk=("source", "interaction")
    )
    db.execute(CALLS_FULL_SQL.replace(", c.parent from", " from"))


def _drop_matched_index(db: sqlite_utils.Database) -> None:
    """Two values do not need an index, and each index costs every insert on the request-heavy path."""
    db.execute("drop index if exists idx_calls_matched")


def _drop_session_index(db: sqlite_utils.Database) -> None:
    """With a thousand sessions interleaving, keeping (session, seq) indexed tripled the cost of every insert
    (measured: 3.2 -> 7.9 us a row). Writes are the hot path; reads by session scan, which is fast at the sizes
    the Python API and pytest read, and fine for the admin API and `hudproxy journal`."""
    db.execute("drop index if exists idx_calls_session_seq")


def _add_parent(db: sqlite_utils.Database) -> None:
    """`parent`: the seq (same session) of the call that caused this one, e.g. the MCP tool call whose upstream
    made this HTTP request through hudproxy. NULL for calls the client made itself."""
    db[CALLS].add_column("parent", int)  # type: ignore[union-attr]
    db.execute(f"drop view if exists {CALLS_FULL}")
    db.execute(CALLS_FULL_SQL)


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("create_calls", _create_calls),
    ("dedupe_responses", _dedupe_responses),
    ("drop_matched_index", _drop_matched_index),
    ("drop_session_index", _drop_session_index),
    ("add_parent", _add_parent),
]


def open_journal(path: str, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and, unless read-only, migrate) a journal database in WAL mode.

    A file that is not SQLite, or a SQLite database of some other program's (tables, but no `calls`), is a
    JournalError naming the file: hudproxy never adds its tables to someone else's database."""
    if Path(path).is_dir():
        raise JournalError(f"{path}: is a folder; give a journal file, e.g. {Path(path) / 'journal.db'}.")
    try:
        db = sqlite_utils.Database(path)
        tables = db.table_names()
        if tables and CALLS not in tables:
            db.close()
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise JournalError(
                f"{path}: a SQLite database, but not a hudproxy journal (its tables: {shown}); "
                "give a new file or one hudproxy wrote."
            )
        if readonly:
            return db
        db.enable_wal()
        db.execute("PRAGMA synchronous=NORMAL")
        migrate(db)
        return db
    except sqlite3.DatabaseError as exc:  # OperationalError (cannot open) included
        message = f"{path}: cannot use it as a journal ({exc}); give a new file or one hudproxy wrote."
        raise JournalError(message) from None


def migrate(db: sqlite_utils.Database) -> None:
    """Apply the named migrations not yet applied; `PRAGMA user_version` counts them."""
    applied = db.execute("PRAGMA user_version").fetchone()[0]
    for number, (_name, step) in enumerate(MIGRATIONS, start=1):
        if number > applied:
            with db.conn:
                step(db)
                db.execute(f"PRAGMA user_version = {number}")


def open_for_reading(path: str | Path) -> sqlite_utils.Database | None:
    """A journal to read, or None when there is nothing to read (no file, or a file with no tables yet). Nothing
    is written to the file, except migrating a journal an older hudproxy wrote."""
    if not Path(path).exists():
        return None
    db = open_journal(str(path), readonly=True)
    if CALLS not in db.table_names():
        db.close()
        return None
    if db.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        migrate(db)
    return db
