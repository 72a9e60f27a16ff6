"""`hudproxy import` and `hudproxy export` as commands: a round trip, scrubbing switches, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.cli import main
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

SECRET = "Bearer sk-live-cli-31337"
Capture = pytest.CaptureFixture[str]
AUTH = {"name": "Authorization", "value": SECRET}


def run(*args: object) -> int:
    with pytest.raises(SystemExit) as exited:
        main([str(a) for a in args])
    return int(exited.value.code or 0)


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    interactions = [
        make_interaction(
            make_request(url="http://api.test/me", headers=[("Authorization", "Bearer SCRUBBED")]),
            make_response(json={"name": "Ada"}),
            recorded_at="2026-11-25T01:06:21.417Z",
            duration_ms=3.25,
        ),
        make_interaction(
            make_request("POST", "http://api.test/upload", body=bytes(range(256))),
            make_response(201, body=b"\x00\x01\xfe\xff"),
            recorded_at="2026-11-25T01:06:22.000Z",
            duration_ms=8.0,
        ),
    ]
    return save_cassette(make_cassette(interactions), tmp_path / "api.yaml")


@pytest.fixture
def secret_har(tmp_path: Path) -> Path:
    entry = {
        "request": {
            "method": "GET",
            "url": "http://api.test/me",
            "headers": [{"name": "Authorization", "value": SECRET}],
        },
        "response": {"status": 200, "content": {"mimeType": "application/json", "text": '{"name": "Ada"}'}},
    }
    path = tmp_path / "secret.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    return path


def test_export_then_import_on_the_command_line(cassette: Path, tmp_path: Path, capsys: Capture) -> None:
    assert run("export", "har", cassette, "-o", tmp_path / "api.har") == 0
    assert run("import", "har", tmp_path / "api.har", "-o", tmp_path / "back.json") == 0
    out = capsys.readouterr().out
    assert "exported 2 interactions" in out and "imported 2 interactions" in out
    assert load_cassette(tmp_path / "back.json").interactions == load_cassette(cassette).interactions


def test_import_scrubs_by_default_and_keep_secrets_keeps_them(secret_har: Path, tmp_path: Path) -> None:
    assert run("import", "har", secret_har, "-o", tmp_path / "scrubbed.yaml") == 0
    assert SECRET not in (tmp_path / "scrubbed.yaml").read_text()
    assert "Bearer SCRUBBED" in (tmp_path / "scrubbed.yaml").read_text()
    assert run("import", "HAR", secret_har, "-o", tmp_path / "kept.yaml", "--keep-secrets") == 0
    assert SECRET in (tmp_path / "kept.yaml").read_text()
    assert load_cassette(tmp_path / "kept.yaml").meta["scrub"]["enabled"] is False


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(["import", "har", "{missing}"], ["{missing}: no such file"], id="missing-file"),
        pytest.param(["import", "pcap", "{har}"], ["unknown import format 'pcap'", "har, mitm, vcr"],
                     id="unknown-import-format"),
        pytest.param(["import", "har", "{nothar}"], ["{nothar}:1:", "not a HAR file"], id="malformed-har"),
        pytest.param(["import", "mitm", "{nothar}"], ["{nothar}: not a mitmproxy flow file"], id="malformed-flows"),
        pytest.param(["import", "vcr", "{nothar}"], ["{nothar}:", "not valid YAML"], id="malformed-vcr"),
        pytest.param(["export", "curl", "{cassette}"], ["unknown export format 'curl'", "valid formats: har"],
                     id="unknown-export-format"),
        pytest.param(["export", "har", "{missing}"], ["{missing}: no such cassette file"], id="export-missing"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(
    args: list[str],
    fragments: list[str],
    cassette: Path,
    secret_har: Path,
    tmp_path: Path,
    capsys: Capture,
) -> None:
    nothar = tmp_path / "notes.txt"
    nothar.write_text("key: [unclosed\n")
    names = {"missing": tmp_path / "missing.har", "har": secret_har, "nothar": nothar, "cassette": cassette}
    code = run(*(a.format(**names) for a in args), "-o", tmp_path / "out.yaml")
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hudproxy: "), err
    for fragment in fragments:
        assert fragment.format(**names) in err
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize("command", ["import", "export"])
def test_help_has_an_example(command: str, capsys: Capture) -> None:
    assert run(command, "--help") == 0
    assert f"Example: hudproxy {command} har " in capsys.readouterr().out


def har_entry(status: int, headers: list[dict[str, str]]) -> dict[str, object]:
    return {
        "startedDateTime": "2024-01-01T00:00:00Z", "time": 1, "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
        "request": {"method": "GET", "url": "http://a.test/x?api_key=hush-77", "httpVersion": "HTTP/1.1",
                    "headers": headers, "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": status, "statusText": "W", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": "text/plain", "text": ""}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("status", "headers", "problem"),
    [
        (999, [], "status 999 is not an HTTP status"),
        (200, [{"name": "X-A", "value": "a\r\nb"}], "control character"),
    ],
    ids=["status-999", "crlf-header"],
)
def test_an_entry_the_loader_would_refuse_is_one_line_and_no_file(
    tmp_path: Path, capsys: Capture, status: int, headers: list[dict[str, str]], problem: str
) -> None:
    """Before, the import wrote a cassette that every later command refused to load."""
    har = tmp_path / "odd.har"
    entries = [har_entry(200, []), har_entry(status, headers)]
    log = {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}
    har.write_text(json.dumps({"log": log}))
    out = tmp_path / "odd.yaml"
    assert run("import", "har", har, "-o", out) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"hudproxy: {har}: exchange #1 (GET /x?api_key=SCRUBBED") and problem in line
    assert "hush-77" not in line and "\n" not in line and not out.exists()
