"""The journal's layout, version by version: named migrations, each a step of SQL, and the views readers query.

`PRAGMA user_version` counts the steps applied; `migrate` applies the rest in one transaction that holds the
file's write lock. Version 8 is the current layout (see `schema` for what each table holds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

from hudproxy.journal.tables import CALL_LOG, CALLS, CALLS_FULL, REQUESTS, RESPONSES, RUNS

# Migrations run on the raw connection, inside the one transaction `migrate` opens (sqlite-utils' helpers may
# commit on their own, which would split it).
Connection = sqlite3.Connection

# The `calls` table of versions 1-5 (version 6 moves its rows to `call_log` and the tables beside it).
CALLS_V1_SQL = (
    f"create table {CALLS} (id integer primary key, session text not null, seq integer not null, time text, "
    "kind text not null, method text, url text, path text, query text, request_headers text, request_body text, "
    "status integer, response_body text, matched integer, interaction integer, diagnosis text, duration_ms float)"
)
CALLS_FULL_SQL = (
    f"create view {CALLS_FULL} as select c.id, c.session, c.seq, c.time, c.kind, c.method, c.url, c.path, "
    "c.query, c.request_headers, c.request_body, c.status, "
    "coalesce(c.response_body, r.response_body) as response_body, c.matched, c.interaction, c.diagnosis, "
    f"c.duration_ms, c.source, c.parent from {CALLS} c left join {RESPONSES} r "
    "on r.source = c.source and r.interaction = c.interaction"
)


def _create_calls(db: Connection) -> None:
    db.execute(CALLS_V1_SQL)
    db.execute(f"create index idx_calls_session_seq on {CALLS} (session, seq)")
    db.execute(f"create index idx_calls_matched on {CALLS} (matched)")


def _dedupe_responses(db: Connection) -> None:
    db.execute(f"alter table {CALLS} add column source text")
    db.execute(
        f"create table {RESPONSES} (source text, interaction integer, status integer, response_body text, "
        "primary key (source, interaction))"
    )
    db.execute(CALLS_FULL_SQL.replace(", c.parent from", " from"))


def _drop_matched_index(db: Connection) -> None:
    """Two values do not need an index, and each index costs every insert on the request-heavy path."""
    db.execute("drop index if exists idx_calls_matched")


def _drop_session_index(db: Connection) -> None:
    """With a thousand sessions interleaving, keeping (session, seq) indexed tripled the cost of every insert
    (measured: 3.2 -> 7.9 us a row). Writes are the hot path; reads by session scan, which is fast at the sizes
    the Python API and pytest read, and fine for the admin API and `hudproxy journal`."""
    db.execute("drop index if exists idx_calls_session_seq")


def _add_parent(db: Connection) -> None:
    """`parent`: the seq (same session) of the call that caused this one, e.g. the MCP tool call whose upstream
    made this HTTP request through hudproxy. NULL for calls the client made itself."""
    db.execute(f"alter table {CALLS} add column parent integer")
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
    f"create table {RESPONSES} (run integer references {RUNS}(id), interaction integer, status integer, "
    "response_body text, primary key (run, interaction))",
)


def iso_time_sql(started: str = "c.started") -> str:
    """SQL for a unix time as `iso_time` writes it (rows.py): whole seconds formatted, milliseconds truncated."""
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', cast({started} as integer), 'unixepoch') || "
        f"printf('.%03d+00:00', cast(({started} - cast({started} as integer)) * 1000 as integer))"
    )


# Formatting (the time as ISO text, the duration to the microsecond) happens here, when a row is read, not on
# every write.
CALLS_VIEW_SQL = (
    f"create view {CALLS} as select c.id, c.session, c.seq, {iso_time_sql()} as time, c.kind, q.method, q.url, "
    "q.path, q.query, q.request_headers, q.request_body, c.status, "
    "coalesce(c.response_body, r.response_body) as response_body, c.matched, c.interaction, c.diagnosis, "
    f"round(c.duration_ms, 3) as duration_ms, u.source, c.parent from {CALL_LOG} c "
    f"left join {REQUESTS} q on q.id = c.request left join {RUNS} u on u.id = c.run "
    f"left join {RESPONSES} r on r.run = c.run and r.interaction = c.interaction"
)
# Version 7 appends who answered (after every column older readers know, in their order): `answered_by` is
# `recording` (a recorded interaction, `matched` = 1), `model` (the resource model under `--generalise`: `rule`
# names the rule, `evidence` the interactions that taught it, as a JSON list) or `miss` (nothing answered).
ANSWERED_BY_SQL = (
    "case when c.matched then 'recording' when c.rule is not null then 'model' else 'miss' end as answered_by"
)
CALLS_VIEW_V7_SQL = CALLS_VIEW_SQL.replace(
    f"c.parent from {CALL_LOG} c", f"c.parent, {ANSWERED_BY_SQL}, c.rule, c.evidence from {CALL_LOG} c"
)
# An old row's ISO text time (`iso_time`'s format, milliseconds truncated) as unix seconds, mid-millisecond so that
# truncating it again gives the same text.
UNIX_TIME_SQL = "cast(strftime('%s', c.time) as real) + (cast(substr(c.time, 21, 3) as integer) + 0.5) / 1000.0"
OLD_RESPONSES = f"v5_{RESPONSES}"


def _compact_calls(db: Connection) -> None:
    """Each call's row shrinks to what differs per call: binding and storing the request's text, the time as
    text and the cassette's name in every row cost the journal's writer about 3 us a row (measured: 3.1 -> 1.0
    us with the small row), on a 2-core machine CPU the replay server loses. Rows already written move over
    unchanged, and `calls` becomes the view that shows them as before (so a user's own views on `calls` work on).
    Rows from before version 2 have no source: no run, as their bodies were stored in the row."""
    db.execute("PRAGMA legacy_alter_table = ON")  # rename without rewriting (and re-checking) anyone's views
    try:
        db.execute(f"alter table {RESPONSES} rename to {OLD_RESPONSES}")
    finally:
        db.execute("PRAGMA legacy_alter_table = OFF")
    for sql in COMPACT_TABLES_SQL:
        db.execute(sql)
    db.execute(
        f"insert into {RUNS} (source) select source from {CALLS} where source is not null union "
        f"select source from {OLD_RESPONSES} where source is not null"
    )
    runs = f"left join {RUNS} u on u.source = c.source"
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
        f"insert into {RESPONSES} (run, interaction, status, response_body) select u.id, c.interaction, "
        f"c.status, c.response_body from {OLD_RESPONSES} c join {RUNS} u on u.source = c.source"
    )
    for statement in (
        f"drop view if exists {CALLS_FULL}",
        f"drop table {CALLS}",
        f"drop table {OLD_RESPONSES}",
        CALLS_VIEW_SQL,
        f"create view {CALLS_FULL} as select * from {CALLS}",
    ):
        db.execute(statement)


def _add_answered_by(db: Connection) -> None:
    """`rule` and `evidence` on the calls the resource model answered (`--generalise`), and `answered_by` in the
    view: such a call matched no recording (`matched` stays 0, `interaction` NULL, as before) but is no miss, so
    `--unmatched` must tell it apart. Two NULL columns cost the hot row nothing (it does not bind them)."""
    db.execute(f"alter table {CALL_LOG} add column rule text")
    db.execute(f"alter table {CALL_LOG} add column evidence text")
    for statement in (f"drop view if exists {CALLS_FULL}", f"drop view if exists {CALLS}", CALLS_VIEW_V7_SQL,
                      f"create view {CALLS_FULL} as select * from {CALLS}"):  # fmt: skip
        db.execute(statement)


# Version 8 appends `fault`: the fault rule that fired on the call (`hudproxy.faults`); such a call says
# `answered_by` = `fault` whatever else answered it (an injected 429, or a recording cut short).
ANSWERED_BY_V8_SQL = "case when c.fault is not null then 'fault' " + ANSWERED_BY_SQL.removeprefix("case ")
CALLS_VIEW_V8_SQL = CALLS_VIEW_V7_SQL.replace(ANSWERED_BY_SQL, ANSWERED_BY_V8_SQL).replace(
    f"c.evidence from {CALL_LOG} c", f"c.evidence, c.fault from {CALL_LOG} c"
)


def _add_fault(db: Connection) -> None:
    """`fault` on the calls a fault rule fired on (their kind is `fault`); NULL elsewhere, unbound on the hot row."""
    db.execute(f"alter table {CALL_LOG} add column fault text")
    for statement in (f"drop view if exists {CALLS_FULL}", f"drop view if exists {CALLS}", CALLS_VIEW_V8_SQL,
                      f"create view {CALLS_FULL} as select * from {CALLS}"):  # fmt: skip
        db.execute(statement)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("create_calls", _create_calls),
    ("dedupe_responses", _dedupe_responses),
    ("drop_matched_index", _drop_matched_index),
    ("drop_session_index", _drop_session_index),
    ("add_parent", _add_parent),
    ("compact_calls", _compact_calls),
    ("add_answered_by", _add_answered_by),
    ("add_fault", _add_fault),
]


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    """Apply the named migrations not yet applied (`PRAGMA user_version` counts them) in one transaction that
    takes the write lock first: servers started together on one new (or old) file migrate it once, the others
    wait and find it done; a migration that fails leaves the file as it was."""
    conn = db if isinstance(db, sqlite3.Connection) else db.conn
    if _version(conn) >= len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = _version(conn)
        for number, (_name, step) in enumerate(MIGRATIONS, start=1):
            if number > applied:
                step(conn)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
