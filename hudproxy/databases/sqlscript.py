"""Split a SQL script into statements with line numbers, so a failing fixture is reported where it fails.

`sqlite3.Connection.executescript` stops at the first error but does not say which statement it was; running
the statements one by one does, at no cost worth measuring for a fixture. Splitting leans on SQLite's own
`sqlite3.complete_statement`, so semicolons inside strings, comments and trigger bodies are handled as SQLite
handles them.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hudproxy.databases.errors import SqlScriptError


@dataclass(frozen=True)
class Statement:
    """One statement of a script and the 1-based line its code starts on."""

    line: int
    sql: str


def read_source(source: str | os.PathLike[str]) -> tuple[str, str]:
    """(name, script) for a path or for SQL text.

    A `Path`, or a one-line string ending in `.sql`, is a file; any other string is the script itself.
    """
    is_file = isinstance(source, os.PathLike) or ("\n" not in source and source.strip().lower().endswith(".sql"))
    if not is_file:
        return "<sql>", str(source)
    path = Path(source)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SqlScriptError(str(path), 0, "", f"cannot read the SQL fixture: {exc}") from exc


def split_statements(script: str) -> list[Statement]:
    """The statements of `script` in order, each with the line its first token is on; blanks and comments dropped."""
    found: list[Statement] = []
    start = 0
    semicolon = script.find(";")
    while semicolon != -1:
        if sqlite3.complete_statement(script[start : semicolon + 1]):
            _append(found, script, start, semicolon + 1)
            start = semicolon + 1
        semicolon = script.find(";", semicolon + 1)
    _append(found, script, start, len(script))
    return found


def run_script(conn: sqlite3.Connection, script: str, source: str = "<sql>") -> int:
    """Execute `script` statement by statement; the number run. A failure raises SqlScriptError with file:line."""
    statements = split_statements(script)
    for statement in statements:
        try:
            conn.execute(statement.sql)
        except sqlite3.Error as exc:
            raise SqlScriptError(source, statement.line, statement.sql, str(exc)) from exc
    return len(statements)


def _append(found: list[Statement], script: str, start: int, end: int) -> None:
    code = _skip_comments(script, start, end)
    sql = script[code:end].strip()
    if sql.rstrip(";").strip():
        found.append(Statement(script.count("\n", 0, code) + 1, sql))


def _skip_comments(script: str, pos: int, end: int) -> int:
    """Index of the first character in [pos, end) that is neither blank nor inside a comment."""
    while pos < end:
        if script[pos].isspace():
            pos += 1
        elif script.startswith("--", pos):
            newline = script.find("\n", pos, end)
            pos = end if newline == -1 else newline + 1
        elif script.startswith("/*", pos):
            close = script.find("*/", pos + 2, end)
            pos = end if close == -1 else close + 2
        else:
            break
    return pos
