"""Typed reads of the journal: `Call` rows and `CallList` (as respx's CallList), never ad-hoc SQL elsewhere."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from hudproxy.journal.migrations import iso_time_sql
from hudproxy.journal.schema import open_for_reading
from hudproxy.journal.tables import CALL_LOG, CALLS, REQUESTS


@dataclass(frozen=True)
class Call:
    """One request a session made, and what it got."""

    session: str
    seq: int
    time: str
    kind: str
    method: str
    url: str
    path: str
    query: str
    status: int
    matched: bool
    interaction: int | None
    duration_ms: float
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: str | None = None
    response_body: str | None = None
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    parent: int | None = None  # seq of the call that caused this one (an MCP tool call's upstream HTTP request)
    rule: str | None = None  # the resource model's rule, when the model answered (`--generalise`)
    evidence: list[int] = field(default_factory=list)  # the interactions that taught that rule
    fault: str | None = None  # the fault rule that fired on the call (`hudproxy.faults`; its kind is `fault`)

    @property
    def answered_by(self) -> str:
        """`fault` (a fault rule fired), `recording` (a recorded interaction), `model` (synthesized under
        `--generalise`) or `miss`."""
        if self.fault is not None:
            return "fault"
        if self.matched:
            return "recording"
        return "model" if self.rule is not None else "miss"

    @property
    def synthesized(self) -> bool:
        """The resource model answered it: no recording matched, but it is no miss."""
        return not self.matched and self.rule is not None

    @property
    def missed(self) -> bool:
        """Neither a recording nor the model answered it (the 501 miss): what `--unmatched` lists."""
        return not self.matched and self.rule is None and self.fault is None

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def json(self) -> Any:
        """The request body parsed as JSON, or None."""
        try:
            return json.loads(self.request_body) if self.request_body else None
        except ValueError:
            return None

    @property
    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body) if self.response_body else None
        except ValueError:
            return None

    def describe(self) -> str:
        target = self.path + (f"?{self.query}" if self.query else "")
        verdict = "  [unmatched]" if self.missed else f"  [synthesized: {self.rule}]" if self.synthesized else ""
        verdict = f"  [fault: {self.fault}]" if self.fault is not None else verdict
        body = f" {self.request_body}" if self.request_body and len(self.request_body) < 120 else ""
        return f"#{self.seq} {self.method} {target}{body} → {self.status}{verdict}"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Call:
        return cls(
            session=row["session"],
            seq=row["seq"],
            time=row["time"],
            kind=row["kind"],
            method=row["method"],
            url=row["url"],
            path=row["path"],
            query=row["query"] or "",
            status=row["status"],
            matched=bool(row["matched"]),
            interaction=row["interaction"],
            duration_ms=row["duration_ms"] or 0.0,
            request_headers=[tuple(h) for h in json.loads(row["request_headers"] or "[]")],
            request_body=row["request_body"],
            response_body=row["response_body"],
            diagnosis=json.loads(row["diagnosis"]) if row["diagnosis"] else [],
            parent=row.get("parent"),
            rule=row.get("rule"),
            evidence=json.loads(row["evidence"]) if row.get("evidence") else [],
            fault=row.get("fault"),
        )


class CallList(list[Call]):
    """A list of calls with the conveniences tests reach for."""

    @property
    def called(self) -> bool:
        return bool(self)

    @property
    def call_count(self) -> int:
        return len(self)

    @property
    def last(self) -> Call | None:
        return self[-1] if self else None

    @property
    def synthesized(self) -> CallList:
        """The calls the resource model answered (`--generalise`), each with its `rule` and `evidence`."""
        return CallList(c for c in self if c.synthesized)

    @property
    def missed(self) -> CallList:
        """The calls nothing answered (neither a recording nor the model)."""
        return CallList(c for c in self if c.missed)

    @property
    def faulted(self) -> CallList:
        """The calls a fault rule fired on, each naming its rule (`fault`)."""
        return CallList(c for c in self if c.fault is not None)


PathPattern = str | re.Pattern[str]


def path_matches(pattern: PathPattern | None, path: str) -> bool:
    """A glob (`/orders/*`), an exact path, or a compiled regex (full match)."""
    if pattern is None:
        return True
    if isinstance(pattern, re.Pattern):
        return pattern.fullmatch(path) is not None
    return fnmatch.fnmatchcase(path, pattern)


def read_calls(
    path: str | Path,
    session: str | None = None,
    method: str | None = None,
    path_pattern: PathPattern | None = None,
    unmatched: bool | None = None,
    kind: str | None = None,
) -> CallList:
    """Calls in (session, seq) order, filtered; the path filter takes globs and regexes. `unmatched`: True for the
    misses only, False for the answered calls only (by a recording or, under `--generalise`, the model)."""
    db = open_for_reading(path)  # migrates a journal written by an older hudproxy
    if db is None:
        return CallList()
    try:
        clauses, args = _conditions(session, method, kind, unmatched)
        if CALLS not in db.view_names():
            return CallList()
        rows = db[CALLS].rows_where(" and ".join(clauses) or None, args, order_by="session, seq, id")
        return CallList(c for c in map(Call.from_row, rows) if path_matches(path_pattern, c.path))
    finally:
        db.close()


def _conditions(
    session: str | None, method: str | None, kind: str | None, unmatched: bool | None
) -> tuple[list[str], list[Any]]:
    clauses, args = [], []
    for column, value in (("session", session), ("method", method and method.upper()), ("kind", kind)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if unmatched is not None:  # a miss: neither a recording nor the resource model answered
        clauses.append("answered_by = 'miss'" if unmatched else "answered_by != 'miss'")
    return clauses, args


ANSWERED_BY_LOG = {"recording": "c.matched = 1", "model": "c.rule is not null",
                   "miss": "c.matched = 0 and c.rule is null"}  # fmt: skip


@dataclass(frozen=True)
class SessionPage:
    """A keyset page of a session's calls: the calls in seq order, and whether any (filtered) lie either side."""

    calls: CallList
    has_before: bool
    has_after: bool


def session_page(
    path: str | Path,
    session: str,
    after: int | None = None,
    before: int | None = None,
    limit: int = 200,
    method: str | None = None,
    path_glob: str | None = None,
    kind: str | None = None,
    answered_by: str | None = None,
) -> SessionPage:
    """`limit` calls of a session with seq above `after` (or below `before`), in seq order, filtered: what the web
    inspector shows of a session of any size. The journal keeps no (session, seq) index (it would triple the cost of
    every write), so SQLite finds the page in one scan of `call_log`'s small rows, keeping only the `limit` + 1
    lowest (or highest) seqs as it goes (a top-N sort), and reads the page's rows in full by row id: a few ms at
    100,000 rows on any page, the first included, with nothing but the page read into Python. A call written late
    (a long stream answered after the calls that followed it) is found at its seq like any other. `path_glob` is
    an SQLite GLOB (fnmatch's syntax); `answered_by`: recording, model or miss."""
    db = open_for_reading(path)
    if db is None or CALLS not in db.view_names():
        return SessionPage(CallList(), False, False)
    try:
        clauses, args = ["c.session = ?"], [session]
        for condition, value in (("c.kind = ?", kind), ("q.method = ?", method and method.upper()),
                                 ("q.path glob ?", path_glob)):  # fmt: skip
            if value:
                clauses.append(condition)
                args.append(value)
        if answered_by:
            clauses.append(ANSWERED_BY_LOG[answered_by])
        join = f"join {REQUESTS} q on q.id = c.request" if method or path_glob else ""
        chosen = f"from {CALL_LOG} c {join} where {' and '.join(clauses)}"
        backwards = before is not None
        key = before if backwards else after
        bound = "" if key is None else "c.seq < ?" if backwards else "c.seq > ?"
        bounded, bound_args = (f"{chosen} and {bound}", [*args, key]) if bound else (chosen, args)
        direction = "desc" if backwards else "asc"
        rows = db.query(
            f"select * from {CALLS} where id in (select c.id {bounded} order by c.seq {direction}, c.id {direction} "
            "limit ?) order by seq, id",
            [*bound_args, limit + 1],
        )
        calls = CallList(map(Call.from_row, rows))
        more = len(calls) > limit  # one beyond the page, on the side it was read towards
        if more:
            calls = CallList(calls[1:] if backwards else calls[:limit])
        other_side = False  # anything filtered on the far side of the bound (none without one)
        if bound:
            beyond = "c.seq >= ?" if backwards else "c.seq <= ?"
            other_side = db.execute(f"select exists(select 1 {chosen} and {beyond})", [*args, key]).fetchone()[0] == 1
        return SessionPage(calls, more if backwards else other_side, other_side if backwards else more)
    finally:
        db.close()


def read_call(path: str | Path, session: str, seq: int) -> Call | None:
    """One call of a session by its seq (a stable link to it), or None."""
    db = open_for_reading(path)
    if db is None or CALLS not in db.view_names():
        return None
    try:
        rows = list(db.query(f"select * from {CALLS} where session = ? and seq = ? limit 1", [session, seq]))
        return Call.from_row(rows[0]) if rows else None
    finally:
        db.close()


def children_of(path: str | Path, session: str, parents: list[int]) -> dict[int, list[int]]:
    """parent seq -> the seqs of the calls it caused (an MCP tool call's upstream HTTP requests)."""
    if not parents:
        return {}
    db = open_for_reading(path)
    if db is None:
        return {}
    try:
        marks = ", ".join("?" * len(parents))
        sql = f"select parent, seq from {CALL_LOG} where session = ? and parent in ({marks}) order by id"
        caused: dict[int, list[int]] = {}
        for parent, seq in db.execute(sql, [session, *parents]):
            caused.setdefault(parent, []).append(seq)
        return caused
    finally:
        db.close()


def session_exists(path: str | Path, session: str) -> bool:
    """Has the session any call in the journal (stops at its first row, where a count would read them all)."""
    db = open_for_reading(path)
    if db is None:
        return False
    try:
        return db.execute(f"select 1 from {CALL_LOG} where session = ? limit 1", [session]).fetchone() is not None
    finally:
        db.close()


def max_seq(path: str | Path, session: str | None = None) -> int:
    """The highest seq `session` (any session with None) has in the journal, 0 for none: where a later writer
    continues numbering."""
    db = open_for_reading(path)
    if db is None:
        return 0
    try:
        where, args = ("where session = ?", [session]) if session is not None else ("", [])
        return db.execute(f"select max(seq) from {CALL_LOG} {where}", args).fetchone()[0] or 0
    finally:
        db.close()


def sessions_in(path: str | Path) -> list[dict[str, Any]]:
    """Per session: calls, unmatched (missed) and synthesized counts, for `hudproxy journal` and the admin API."""
    db = open_for_reading(path)
    if db is None:
        return []
    try:
        first, last = iso_time_sql("min(c.started)"), iso_time_sql("max(c.started)")
        sql = (
            f"select session, count(*) as calls, sum(matched = 0 and rule is null and fault is null) as unmatched, "
            f"sum(rule is not null) as synthesized, {first} as first, {last} as last "
            f"from {CALL_LOG} c group by session order by min(c.started)"
        )
        names = ("session", "calls", "unmatched", "synthesized", "first", "last")
        return [dict(zip(names, r, strict=True)) for r in db.execute(sql)]
    finally:
        db.close()
