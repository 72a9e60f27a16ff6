"""Broken cassettes: each is a CassetteError naming the file and the line, and the CLI shows it as one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hudproxy.cassette import load_cassette
from hudproxy.errors import CassetteError, HudproxyError

MARK = "#<"  # marks the line an error must name; YAML comments, so the file stays what it was

GOOD_INTERACTION = """\
- request:
    method: GET
    uri: http://api.test/health
  response:
    status: {code: 200, message: OK}
    body: {string: ok}
"""


def marked_line(text: str, needle: str = MARK) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


# (file name, content, text that marks the expected line, words the message must contain)
LOCATED = [
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n- request:\n    method: GET\n    uri: http://x/: y  #<\n",
        MARK,
        "not valid YAML",
        id="malformed-yaml",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n- request:\n\tmethod: GET  #<\n",
        MARK,
        "not valid YAML",
        id="malformed-yaml-tab",
    ),
    pytest.param(
        "cassette.json",
        '{\n  "version": 1,\n  "interactions": [\n    {"request": }\n  ]\n}\n',
        '"request": }',
        "not valid JSON",
        id="malformed-json",
    ),
    pytest.param(
        "cassette.yaml",
        "interactions: []  #<\n",
        MARK,
        "version",
        id="missing-version",
    ),
    pytest.param(
        "cassette.yaml",
        "# written by hand\ninteractions: []\nversion: 2  #<\n",
        MARK,
        "unsupported cassette version 2",
        id="version-2",
    ),
    pytest.param(
        "cassette.yaml",
        "- request: {method: GET, uri: 'http://x/'}  #<\n  response: {status: 200}\n",
        MARK,
        "bare list",
        id="pre-1.0-vcrpy-list",
    ),
    pytest.param(
        "cassette.yaml",
        "just some text  #<\n",
        MARK,
        "expected a mapping",
        id="not-a-mapping",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n" + GOOD_INTERACTION + "- request:  #<\n    method: GET\n    uri: http://x/\n",
        MARK,
        "interactions[1].response",
        id="interaction-missing-response",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n- request: {method: GET, uri: 'http://x/'}\n  response:\n    status:\n"
        "      code: OK  #<\n",
        MARK,
        "interactions[0].response.status.code",
        id="status-code-not-int",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n- request: {method: GET, uri: 'http://x/'}\n  response:\n    status:\n"
        "      code: 200.5  #<\n",
        MARK,
        "status.code",
        id="status-code-fraction",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions: []\nhudproxy:\n  recorded_with: hudproxy 9.0\n  format: 99  #<\n",
        MARK,
        "format 99",
        id="hudproxy-format-newer",
    ),
    pytest.param(
        "cassette.json",
        '{\n  "version": 1,\n  "interactions": [\n    {"request": {"method": "GET", "uri": "http://x/"},\n'
        '     "hudproxy": {}}\n  ]\n}\n',
        '"request"',
        "interactions[0].response",
        id="json-interaction-missing-response",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n- !!python/object/apply:os.system ['echo unsafe']  #<\n",
        MARK,
        "python/object/apply",
        id="unsafe-yaml-tag",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions: []\nhudproxy:\n  format: 0  #<\n",
        MARK,
        "format 0",
        id="hudproxy-format-zero",
    ),
    pytest.param(
        "cassette.yaml",
        "version: 1\ninteractions:\n" + GOOD_INTERACTION + "  hudproxy:\n    wire:\n      base64: abc  #<\n",
        MARK,
        "base64",
        id="wire-not-base64",
    ),
    pytest.param(
        "cassette.json",
        '{"version": 1, "interactions": [\n{"request": {"method": "GET", "uri": "http://x/"},\n'
        ' "response": {"status": {"code": 200}, "body": {"base64_string": "abc"}}}]}\n',
        "base64_string",
        "base64",
        id="json-body-not-base64",
    ),
]


@pytest.mark.parametrize(("name", "content", "needle", "words"), LOCATED)
def test_error_names_file_and_line(tmp_path: Path, name: str, content: str, needle: str, words: str) -> None:
    path = tmp_path / name
    path.write_text(content)

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    message = str(caught.value)
    assert message.startswith(f"{path}:{marked_line(content, needle)}: "), message
    assert words in message


def test_unsafe_yaml_tag_runs_nothing(tmp_path: Path) -> None:
    witness = tmp_path / "ran"
    path = tmp_path / "cassette.yaml"
    path.write_text(f"version: 1\ninteractions:\n- !!python/object/apply:os.system ['touch {witness}']\n")

    with pytest.raises(CassetteError):
        load_cassette(path)

    assert not witness.exists()


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        pytest.param("missing.yaml", None, "no such cassette file", id="missing-file"),
        pytest.param("folder.yaml", "dir", "is a directory", id="directory"),
        pytest.param("empty.yaml", "", "the file is empty", id="empty-yaml"),
        pytest.param("blank.yaml", "\n  \n# nothing here\n", "the file is empty", id="blank-yaml"),
        pytest.param("empty.json", "", "not valid JSON", id="empty-json"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, make: str | None, words: str) -> None:
    path = tmp_path / name
    if make == "dir":
        path.mkdir()
    elif make is not None:
        path.write_text(make)

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    assert str(caught.value).startswith(str(path))
    assert words in str(caught.value)


def test_cassette_error_is_a_hudproxy_error() -> None:
    assert issubclass(CassetteError, HudproxyError)


def hudproxy_command() -> list[str]:
    script = shutil.which("hudproxy")
    if script:
        return [script]
    return [sys.executable, "-c", "from hudproxy.cli import main; main()"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("bad.yaml", "version: 1\ninteractions:\n- request: [\n", id="malformed-yaml"),
        pytest.param("v2.yaml", "version: 2\ninteractions: []\n", id="version-2"),
        pytest.param("nope.yaml", None, id="missing-file"),
    ],
)
def test_cli_inspect_prints_one_line_and_exits_2(tmp_path: Path, name: str, content: str | None) -> None:
    path = tmp_path / "a-folder-name-long-enough-to-wrap-a-narrow-terminal" / name
    path.parent.mkdir()
    if content is not None:
        path.write_text(content)

    done = subprocess.run(
        [*hudproxy_command(), "inspect", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "40"},
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"hudproxy: {path}")


@pytest.mark.parametrize("command", ["inspect", "replay"])
def test_a_cassette_path_under_a_file_is_one_line(tmp_path: Path, command: str) -> None:
    """`some_file.py/x.yaml`: the one line says there is no such cassette, with no warning about its log first."""
    (tmp_path / "some_file.py").write_text("print('a file, not a folder')\n")
    path = tmp_path / "some_file.py" / "x.yaml"
    done = subprocess.run([*hudproxy_command(), command, str(path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"hudproxy: {path}: no such cassette file (record one with `hudproxy record`)."]
