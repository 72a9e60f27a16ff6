"""The journal: every call a session made, in SQLite, written off the request path and read through typed queries."""

from hudproxy.journal.assertions import CallSpec, assert_called, assert_called_before, assert_not_called, contains
from hudproxy.journal.entry import Pending
from hudproxy.journal.query import Call, CallList, read_calls, sessions_in
from hudproxy.journal.writer import JournalWriter

__all__ = [
    "Call",
    "CallList",
    "CallSpec",
    "JournalWriter",
    "Pending",
    "assert_called",
    "assert_called_before",
    "assert_not_called",
    "contains",
    "read_calls",
    "sessions_in",
]
