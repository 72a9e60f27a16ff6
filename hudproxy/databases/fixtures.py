"""Row fixtures: YAML or JSON files of `{table: [row, ...]}`, loaded into one ordered, validated plan.

Loading is separate from inserting so both backends seed from the same plan and every malformed file is
refused, naming the file and table, before a single row is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from hudproxy.databases.errors import FixtureError

Row: TypeAlias = dict[str, Any]
FixtureSource: TypeAlias = str | os.PathLike[str] | Mapping[str, Any]
Fixtures: TypeAlias = FixtureSource | Sequence[FixtureSource]


@dataclass(frozen=True)
class TableRows:
    """The rows one file gives one table, in file order; `source` names the file in error messages."""

    source: str
    table: str
    rows: list[Row]


def load_fixtures(fixtures: Fixtures) -> list[TableRows]:
    """Every (file, table) in the order given: files in list order, tables and rows in file order.

    `fixtures` is a path, a mapping `{table: rows}` (for fixtures built in code), or a list of them. A table
    named in several files gets the rows of each, in that order.
    """
    documents = _documents(fixtures)
    return [TableRows(source, table, rows) for source, data in documents for table, rows in _tables(source, data)]


def table_names(plan: Sequence[TableRows]) -> list[str]:
    """Distinct table names in first-mention order: the tables seeding truncates."""
    return list(dict.fromkeys(entry.table for entry in plan))


def group_by_columns(rows: Sequence[Row]) -> Iterable[tuple[tuple[str, ...], list[Row]]]:
    """Consecutive rows with the same columns, so each run of them is one prepared insert; order is kept."""
    group: list[Row] = []
    columns: tuple[str, ...] = ()
    for row in rows:
        key = tuple(row)
        if group and key != columns:
            yield columns, group
            group = []
        columns = key
        group.append(row)
    if group:
        yield columns, group


def quote_name(name: str) -> str:
    """A table name as a quoted identifier; `schema.table` quotes each part."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _documents(fixtures: Fixtures) -> Iterable[tuple[str, Any]]:
    if isinstance(fixtures, Mapping):
        yield "<fixtures>", fixtures
    elif isinstance(fixtures, str | os.PathLike):
        yield str(fixtures), _read(Path(fixtures))
    else:
        for item in fixtures:
            yield from _documents(item)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(str(path), f"cannot read the fixture file: {exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FixtureError(str(path), f"line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise FixtureError(str(path), "unknown fixture format: name the file .yaml, .yml or .json")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise FixtureError(str(path), f"{where}not valid YAML: {getattr(exc, 'problem', exc)}") from exc


def _tables(source: str, data: Any) -> Iterable[tuple[str, list[Row]]]:
    if data is None:
        return
    if not isinstance(data, Mapping):
        raise FixtureError(source, f"expected a mapping of table name to a list of rows, got {type(data).__name__}")
    for table, rows in data.items():
        if not isinstance(table, str) or not table:
            raise FixtureError(source, f"table names must be non-empty strings, got {table!r}")
        yield table, _rows(source, table, rows)


def _rows(source: str, table: str, rows: Any) -> list[Row]:
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise FixtureError(source, f"expected a list of rows, got {type(rows).__name__}", table=table)
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or not row:
            raise FixtureError(source, f"row {index}: expected a mapping of column to value, got {row!r}", table=table)
        bad = [column for column in row if not isinstance(column, str) or not column]
        if bad:
            raise FixtureError(source, f"row {index}: column names must be strings, got {bad[0]!r}", table=table)
    return [dict(row) for row in rows]
