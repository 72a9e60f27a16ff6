"""Splitting a SQL fixture into statements, with the line each starts on."""

from __future__ import annotations

import pytest

from hudproxy.databases.sqlscript import read_source, split_statements

TRIGGER = """CREATE TRIGGER t AFTER INSERT ON a BEGIN
  INSERT INTO log VALUES (1);
  INSERT INTO log VALUES (2);
END;"""


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param("SELECT 1;", [(1, "SELECT 1;")], id="one"),
        pytest.param("SELECT 1; SELECT 2;", [(1, "SELECT 1;"), (1, "SELECT 2;")], id="two-on-one-line"),
        pytest.param("SELECT 1;\n\nSELECT 2", [(1, "SELECT 1;"), (3, "SELECT 2")], id="last-without-semicolon"),
        pytest.param("SELECT 'a;b';", [(1, "SELECT 'a;b';")], id="semicolon-in-string"),
        pytest.param('SELECT "x;y" FROM t;', [(1, 'SELECT "x;y" FROM t;')], id="semicolon-in-identifier"),
        pytest.param("-- intro; still comment\nSELECT 1;", [(2, "SELECT 1;")], id="line-comment-skipped"),
        pytest.param("/* a;\n b; */\n\nSELECT 1;", [(4, "SELECT 1;")], id="block-comment-skipped"),
        pytest.param("SELECT 1;\n-- trailing comment\n", [(1, "SELECT 1;")], id="trailing-comment"),
        pytest.param(";;\n;", [], id="empty-statements"),
        pytest.param("", [], id="empty"),
        pytest.param(f"\n{TRIGGER}\nSELECT 3;", [(2, TRIGGER), (6, "SELECT 3;")], id="trigger-body"),
    ],
)
def test_split_statements(script: str, expected: list[tuple[int, str]]) -> None:
    assert [(s.line, s.sql) for s in split_statements(script)] == expected


@pytest.mark.parametrize(
    ("source", "is_file"),
    [
        pytest.param("fixtures/shop.sql", True, id="path-string"),
        pytest.param("CREATE TABLE a (x);", False, id="sql-text"),
        pytest.param("SELECT 1\n-- see x.sql", False, id="multi-line-text"),
    ],
)
def test_read_source_tells_paths_from_sql(source: str, is_file: bool, tmp_path) -> None:
    if is_file:
        path = tmp_path / source
        path.parent.mkdir()
        path.write_text("SELECT 1;")
        name, script = read_source(str(path))
        assert (name, script) == (str(path), "SELECT 1;")
    else:
        assert read_source(source) == ("<sql>", source)
