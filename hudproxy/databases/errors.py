"""Errors of the run databases, under hudproxy's tree so the CLI and runner can catch them like any other.

HudproxyError
└── DatabaseError             a run database could not be set up, handed out or released
    ├── SqlScriptError        a `.sql` fixture failed: names the file, the line and the statement
    ├── FixtureError          a YAML/JSON row fixture is malformed or does not fit: names the file and table
    └── IsolationError        a run broke its own isolation (it committed), so its writes may have survived
"""

from __future__ import annotations

from hudproxy.errors import HudproxyError


class DatabaseError(HudproxyError):
    """A run database could not be set up, handed out or released."""


class SqlScriptError(DatabaseError):
    """A statement of a SQL fixture failed; the message reads `file:line: error` and quotes the statement."""

    def __init__(self, source: str, line: int, statement: str, reason: str) -> None:
        self.source, self.line, self.statement, self.reason = source, line, statement, reason
        quoted = statement if len(statement) <= 300 else statement[:300] + " …"
        super().__init__(f"{source}:{line}: {reason}\n  in: {quoted}")


class FixtureError(DatabaseError):
    """A row fixture could not be loaded or inserted; the message names the file and, when known, the table."""

    def __init__(self, source: str, reason: str, *, table: str | None = None) -> None:
        self.source, self.table, self.reason = source, table, reason
        where = f"{source}: table {table!r}" if table is not None else source
        super().__init__(f"{where}: {reason}")


class IsolationError(DatabaseError):
    """A run ended outside the transaction it was given (it ran COMMIT or ROLLBACK itself)."""
