"""The journal's tables and their named migrations: the one place that knows the SQL layout.

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
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from hudproxy.errors import JournalError
from hudproxy.journal.tables import CALL_LOG, CALLS, CALLS_FULL, REQUESTS, RESPONSES, RUNS

__all__ = [
    "CALLS",
    "CALLS_FULL",
    "CALL_LOG",
    "ISO_TIME_SQL",
    "RESPONSES",
    "migrate",
    "open_for_reading",
    "open_journal",
    "start_run",
]  # fmt: skip

# The `calls` table of versions 1-5 (version 6 moves its rows to `call_log` and the tables beside it).
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


COMPACT_TABLES_SQL = (
    f"create table {RUNS} (id integer primary key, source text, started text)",
    f"create table {REQUESTS} (id integer primary key, run integer references {RUNS}(id), method text, url text, "
    "path text, query text, request_headers text, request_body text)",
    f"create table {CALL_LOG} (id integer primary key, session text not null, seq integer not null, started real, "
    f"kind text not null default 'http', request integer references {REQUESTS}(id), status integer, "
    "response_body text, matched integer not null default 1, interaction integer, diagnosis text, "
    f"duration_ms real, run integer references {RUNS}(id), parent integer)",
    f"create table new_{RESPONSES} (run integer references {RUNS}(id), interaction integer, status integer, "
    "response_body text, primary key (run, interaction))",
)
ISO_TIME_SQL = "strftime('%Y-%m-%dT%H:%M:%f', c.started, 'unixepoch') || '+00:00'"
# Formatting (the time as ISO text, the duration to the microsecond) happens here, when a row is read, not on
# every write.
CALLS_VIEW_SQL = (
    f"create view {CALLS} as select c.id, c.session, c.seq, {ISO_TIME_SQL} as time, c.kind, q.method, q.url, "
    "q.path, q.query, q.request_headers, q.request_body, c.status, "
    "coalesce(c.response_body, r.response_body) as response_body, c.matched, c.interaction, c.diagnosis, "
    f"round(c.duration_ms, 3) as duration_ms, u.source, c.parent from {CALL_LOG} c "
    f"left join {REQUESTS} q on q.id = c.request left join {RUNS} u on u.id = c.run "
    f"left join {RESPONSES} r on r.run = c.run and r.interaction = c.interaction"
)
UNIX_TIME_SQL = "(julianday(c.time) - 2440587.5) * 86400.0"  # an ISO text time as unix seconds


def _compact_calls(db: sqlite_utils.Database) -> None:
    """Each call's row shrinks to what differs per call: binding and storing the request's text, the time as
    text and the cassette's name in every row cost the journal's writer about 3 us a row (measured: 3.1 -> 1.0
    us with the small row), on a 2-core machine CPU the replay server loses. Rows already written move over
    unchanged, and `calls` becomes the view that shows them as before."""
    for sql in COMPACT_TABLES_SQL:
        db.execute(sql)
    db.execute(
        f"insert into {RUNS} (source) select coalesce(source, '') from {CALLS} union "
        f"select coalesce(source, '') from {RESPONSES}"
    )
    runs = f"left join {RUNS} u on u.source = coalesce(c.source, '')"
    db.execute(
        f"insert into {REQUESTS} (id, run, method, url, path, query, request_headers, request_body) "
        f"select c.id, u.id, c.method, c.url, c.path, c.query, c.request_headers, c.request_body from {CALLS} c {runs}"
    )
    db.execute(
        f"insert into {CALL_LOG} (id, session, seq, started, kind, request, status, response_body, matched, "
        f"interaction, diagnosis, duration_ms, run, parent) select c.id, c.session, c.seq, {UNIX_TIME_SQL}, c.kind, "
        "c.id, c.status, c.response_body, coalesce(c.matched, 0), c.interaction, c.diagnosis, c.duration_ms, u.id, "
        f"c.parent from {CALLS} c {runs}"
    )
    db.execute(
        f"insert into new_{RESPONSES} (run, interaction, status, response_body) select u.id, c.interaction, "
        f"c.status, c.response_body from {RESPONSES} c {runs}"
    )
    db.execute(f"drop view if exists {CALLS_FULL}")
    db.execute(f"drop table {CALLS}")
    db.execute(f"drop table {RESPONSES}")
    db.execute(f"alter table new_{RESPONSES} rename to {RESPONSES}")
    db.execute(CALLS_VIEW_SQL)
    db.execute(f"create view {CALLS_FULL} as select * from {CALLS}")


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("create_calls", _create_calls),
    ("dedupe_responses", _dedupe_responses),
    ("drop_matched_index", _drop_matched_index),
    ("drop_session_index", _drop_session_index),
    ("add_parent", _add_parent),
    ("compact_calls", _compact_calls),
]


LOCK_TIMEOUT = 30.0  # seconds another process's migration or batch may hold the file's write lock


def is_journal(tables: list[str]) -> bool:
    """A hudproxy journal of any version: `calls` was a table before version 6, `call_log` holds the rows since."""
    return CALL_LOG in tables or CALLS in tables


def start_run(db: sqlite_utils.Database, source: str, started: str) -> int:
    """A new `runs` row for a writer that is about to write: its id goes into every row it writes."""
    with db.conn:
        return db.execute(f"insert into {RUNS} (source, started) values (?, ?)", [source, started]).lastrowid or 0


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

    A file that is not SQLite, or a SQLite database of some other program's (tables, but no `calls`), is a
    JournalError naming the file: hudproxy never adds its tables to someone else's database."""
    if Path(path).is_dir():
        raise JournalError(f"{path}: is a folder; give a journal file, e.g. {Path(path) / 'journal.db'}.")
    try:
        db = sqlite_utils.Database(sqlite3.connect(path, timeout=LOCK_TIMEOUT))
        tables = db.table_names()
        if tables and not is_journal(tables):
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


def _version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> None:
    """Apply the named migrations not yet applied (`PRAGMA user_version` counts them) in one transaction that
    takes the write lock first: servers started together on one new (or old) file migrate it once, the others
    wait and find it done."""
    if _version(db) >= len(MIGRATIONS):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        applied = _version(db)
        for number, (_name, step) in enumerate(MIGRATIONS, start=1):
            if number > applied:
                step(db)
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def open_for_reading(path: str | Path) -> sqlite_utils.Database | None:
    """A journal to read, or None when there is nothing to read (no file, or a file with no tables yet). Nothing
    is written to the file, except migrating a journal an older hudproxy wrote."""
    if not Path(path).exists():
        return None
    db = open_journal(str(path), readonly=True)
    if not is_journal(db.table_names()):
        db.close()
        return None
    migrate(db)  # a journal an older hudproxy wrote; nothing to do for a current one
    return db
