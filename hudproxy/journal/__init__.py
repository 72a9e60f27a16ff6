"""The journal: every call a session made, in SQLite, written off the request path and read through typed queries.

Names load on first use: the journal's worker process imports `hudproxy.journal.worker` and must not pay for
sqlite-utils or the assertion helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hudproxy.lazy import lazy_exports

if TYPE_CHECKING:
    from hudproxy.journal.assertions import (
        CallSpec,
        assert_called,
        assert_called_before,
        assert_not_called,
        assert_not_retried,
        assert_retried,
        contains,
    )
    from hudproxy.journal.entry import Pending
    from hudproxy.journal.query import Call, CallList, read_calls, sessions_in
    from hudproxy.journal.writer import JournalWriter

_EXPORTS = {
    "CallSpec": "assertions",
    "assert_called": "assertions",
    "assert_called_before": "assertions",
    "assert_not_called": "assertions",
    "assert_not_retried": "assertions",
    "assert_retried": "assertions",
    "contains": "assertions",
    "Pending": "entry",
    "Call": "query",
    "CallList": "query",
    "read_calls": "query",
    "sessions_in": "query",
    "JournalWriter": "writer",
}

__all__ = [
    "Call",
    "CallList",
    "CallSpec",
    "JournalWriter",
    "Pending",
    "assert_called",
    "assert_called_before",
    "assert_not_called",
    "assert_not_retried",
    "assert_retried",
    "contains",
    "read_calls",
    "sessions_in",
]
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
