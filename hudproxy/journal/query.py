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
from hudproxy.journal.tables import CALL_LOG, CALLS


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
        clauses, args = [], []
        for column, value in (("session", session), ("method", method and method.upper()), ("kind", kind)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if unmatched is not None:  # a miss: neither a recording nor the resource model answered
            clauses.append("answered_by = 'miss'" if unmatched else "answered_by != 'miss'")
        if CALLS not in db.view_names():
            return CallList()
        rows = db[CALLS].rows_where(" and ".join(clauses) or None, args, order_by="session, seq, id")
        return CallList(c for c in map(Call.from_row, rows) if path_matches(path_pattern, c.path))
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
