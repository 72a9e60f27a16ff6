"""A session's calls in seq order, a page at a time, at any size: keyset pages (the calls after seq N, or before
it), each one bounded query (`journal.query.session_page`), so the first view of a 100,000-call session costs what
any later page does. The journal has no (session, seq) index on purpose (it would triple the cost of every write),
and nothing is kept here between pages: reading a big session's whole order into memory on its first view, as
the inspector first did, cost 50-260 ms before the page could be answered, where SQLite's top-N scan of the
small `call_log` rows costs a few ms and sees every call written since, late ones at their seq.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hudproxy.journal.query import CallList, session_page


@dataclass(frozen=True)
class CallPage:
    calls: CallList
    first_seq: int | None
    last_seq: int | None
    has_before: bool
    has_after: bool


class Timelines:
    """The inspector's reader of session timelines (one per app)."""

    def page(self, path: Path, session: str, after: int | None = None, before: int | None = None,
             limit: int = 200, **filters: str | None) -> CallPage:  # fmt: skip
        """`limit` calls after seq `after` (or before seq `before`), in seq order."""
        found = session_page(path, session, after=after, before=before, limit=limit, **filters)
        calls = found.calls
        first, last = (calls[0].seq, calls[-1].seq) if calls else (None, None)
        return CallPage(calls, first, last, found.has_before, found.has_after)
