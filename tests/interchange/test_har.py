"""HAR 1.2 export and import: a round trip is byte-exact; the file has HAR's shape; bad files get one clear error."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.errors import CassetteError, ConfigError
from hudproxy.interchange import export_cassette, import_file
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

BINARY = bytes(range(256))[::-1]
GZIPPED = gzip.compress(b'{"kind": "gzip", "rows": [1, 2, 3]}', mtime=0)
VARY = [("Vary", "Accept"), ("Vary", "Origin")]  # a repeated header stays two headers, in order
LATIN1 = "café crème".encode("latin-1")
WHEN = {"recorded_at": "2026-11-25T01:06:21.417Z", "duration_ms": 12.5}


def cassette_of_every_body() -> list[Any]:
    """Text, non-ASCII text, binary, gzip wire bytes, a non-UTF-8 charset, a stream, bodies in requests, no body."""
    api = "http://api.test"
    return [
        make_interaction(make_request(url=f"{api}/json"), make_response(json={"text": "héllo", "n": 1}), **WHEN),
        make_interaction(
            make_request(url=f"{api}/binary"),
            make_response(body=BINARY, headers=[("Content-Type", "application/octet-stream")]),
            **WHEN,
        ),
        make_interaction(
            make_request(url=f"{api}/gzip"),
            make_response(
                body=GZIPPED,
                headers=[("Content-Type", "application/json"), ("Content-Encoding", "gzip"), *VARY],
            ),
            **WHEN,
        ),
        make_interaction(
            make_request(url=f"{api}/latin1"),
            make_response(body=LATIN1, headers=[("Content-Type", "text/plain; charset=ISO-8859-1")]),
            **WHEN,
        ),
        make_interaction(
            make_request(url=f"{api}/events"),
            make_response(body=b"data: 1\n\ndata: 2\n\n", headers=[("Content-Type", "text/event-stream")]),
            chunks=[(9, 1.5), (9, 20.25)],
            **WHEN,
        ),
        make_interaction(
            make_request("POST", f"{api}/orders?expand=items&expand=notes", json={"sku": "SKU-1", "qty": 2}),
            make_response(201, json={"id": "A13"}),
            **WHEN,
        ),
        make_interaction(
            make_request("PUT", f"{api}/blob", body=BINARY, headers=[("Content-Type", "application/octet-stream")]),
            make_response(204),
            **WHEN,
        ),
        make_interaction(
            make_request("HEAD", f"{api}/json"),
            make_response(headers=[("Content-Length", "25")]),
            **WHEN,
        ),
    ]


@pytest.fixture
def original(tmp_path: Path) -> Path:
    return save_cassette(make_cassette(cassette_of_every_body()), tmp_path / "original.yaml")


def test_export_then_import_gives_the_same_interactions_byte_for_byte(original: Path, tmp_path: Path) -> None:
    har = tmp_path / "out.har"
    assert export_cassette("har", original, har) == 8
    imported = import_file("har", har)
    expected = load_cassette(original).interactions
    assert imported.interactions == expected
    assert [i.response.body for i in imported.interactions] == [i.response.body for i in expected]
    assert imported.interactions[1].response.body == BINARY
    assert imported.interactions[2].response.body == GZIPPED
    assert imported.interactions[6].request.body == BINARY
    assert imported.interactions[4].response.chunks == expected[4].response.chunks


def test_the_round_trip_survives_a_cassette_file_too(original: Path, tmp_path: Path) -> None:
    export_cassette("har", original, tmp_path / "out.har")
    again = save_cassette(import_file("har", tmp_path / "out.har"), tmp_path / "again.json")
    assert load_cassette(again).interactions == load_cassette(original).interactions


def test_the_export_has_har_1_2_shape_with_decoded_content(original: Path, tmp_path: Path) -> None:
    har = tmp_path / "out.har"
    export_cassette("har", original, har)
    log = json.loads(har.read_text())["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "hudproxy"
    for entry in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= entry.keys()
        assert {"send", "wait", "receive"} <= entry["timings"].keys()
        assert {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"} <= (
            entry["request"].keys()
        )
        assert {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL"} <= (
            entry["response"].keys()
        )
        assert {"size", "mimeType"} <= entry["response"]["content"].keys()
    by_path = {e["request"]["url"].split("api.test")[1]: e for e in log["entries"] if e["request"]["method"] != "HEAD"}
    assert by_path["/json"]["response"]["content"]["text"] == '{"text":"héllo","n":1}'
    assert by_path["/json"]["startedDateTime"] == WHEN["recorded_at"] and by_path["/json"]["time"] == 12.5
    binary = by_path["/binary"]["response"]["content"]
    assert binary["encoding"] == "base64" and base64.b64decode(binary["text"]) == BINARY
    gzipped = by_path["/gzip"]["response"]["content"]
    assert json.loads(gzipped["text"]) == {"kind": "gzip", "rows": [1, 2, 3]}, "HAR content is decoded"
    assert gzipped["compression"] == gzipped["size"] - len(GZIPPED)
    assert by_path["/latin1"]["response"]["content"]["text"] == "café crème"
    posted = by_path["/orders?expand=items&expand=notes"]["request"]
    assert posted["postData"] == {"mimeType": "application/json", "text": '{"sku":"SKU-1","qty":2}'}
    assert posted["queryString"] == [{"name": "expand", "value": "items"}, {"name": "expand", "value": "notes"}]


def har_with(entry: dict[str, Any]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}}


def test_a_decoded_gzip_body_from_another_tool_loses_its_content_encoding(tmp_path: Path) -> None:
    """Browsers write the decoded text but keep `Content-Encoding: gzip`: replaying both would break clients."""
    entry = {
        "request": {"method": "GET", "url": "http://api.test/report", "headers": []},
        "response": {
            "status": 200,
            "statusText": "OK",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Content-Encoding", "value": "gzip"},
                {"name": "Content-Length", "value": "31"},
            ],
            "content": {"size": 17, "mimeType": "application/json", "text": '{"report": "ok"}'},
        },
    }
    (tmp_path / "x.har").write_text(json.dumps(har_with(entry)))
    response = import_file("har", tmp_path / "x.har").interactions[0].response
    assert response.body == b'{"report": "ok"}'
    assert response.headers == (("Content-Type", "application/json"), ("Content-Length", "16"))


def test_entries_the_browser_never_got_an_answer_for_are_skipped(tmp_path: Path) -> None:
    answered = {"request": {"method": "GET", "url": "http://api.test/a"}, "response": {"status": 200}}
    blocked = {"request": {"method": "GET", "url": "http://api.test/b"}, "response": {"status": 0}}
    data = har_with(answered)
    data["log"]["entries"].append(blocked)
    (tmp_path / "x.har").write_text(json.dumps(data))
    assert [i.request.url for i in import_file("har", tmp_path / "x.har").interactions] == ["http://api.test/a"]


ENTRY_WITHOUT_URL = '{"log": {\n  "entries": [\n    {"request": {"method": "GET"},\n     "response": {"status": 1}}]}}'
BAD_BASE64 = har_with(
    {
        "request": {"method": "GET", "url": "http://api.test/x"},
        "response": {"status": 200, "content": {"text": "%%%not base64", "encoding": "base64"}},
    }
)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param("<html>not json</html>", ["bad.har:1:", "not a HAR file", "not valid JSON"], id="not-json"),
        pytest.param('{"entries": []}', ["bad.har:", "expected a JSON object with a `log` key"], id="no-log"),
        pytest.param(ENTRY_WITHOUT_URL, ["bad.har:3:", "log.entries[0].request.url: field required"], id="no-url"),
        pytest.param('{"log": {"entries": {}}}', ["bad.har:1:", "log.entries: input should be a valid list"],
                     id="entries-not-a-list"),
        pytest.param(json.dumps(BAD_BASE64), ["bad.har: log.entries[0].response.content", "not valid base64"],
                     id="bad-base64"),
        pytest.param('{"log": {"entries": []}}', ["bad.har:", "nothing to import"], id="empty"),
    ],
)  # fmt: skip
def test_a_malformed_har_is_one_error_naming_the_file_and_the_problem(
    text: str, fragments: list[str], tmp_path: Path
) -> None:
    (tmp_path / "bad.har").write_text(text)
    with pytest.raises(CassetteError) as caught:
        import_file("har", tmp_path / "bad.har")
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_a_missing_file_and_an_unknown_format_are_named(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"nope\.har: no such file"):
        import_file("har", tmp_path / "nope.har")
    with pytest.raises(ConfigError, match=r"unknown import format 'pcap'; valid formats: har, mitm, vcr\."):
        import_file("pcap", tmp_path / "nope.har")
    with pytest.raises(ConfigError, match=r"unknown export format 'mitm'; valid formats: har\."):
        export_cassette("mitm", tmp_path / "nope.yaml", tmp_path / "out")


def test_a_header_a_browser_decoded_as_utf8_becomes_its_wire_bytes(tmp_path: Path) -> None:
    """hudproxy holds header bytes as latin-1 text, so any header can be sent again byte for byte."""
    disposition = 'attachment; filename="naïve ☃.txt"'
    entry = {
        "request": {"method": "GET", "url": "http://api.test/file"},
        "response": {"status": 200, "headers": [{"name": "Content-Disposition", "value": disposition}]},
    }
    (tmp_path / "x.har").write_text(json.dumps(har_with(entry)))
    ((_, value),) = import_file("har", tmp_path / "x.har").interactions[0].response.headers
    assert value.encode("latin-1") == disposition.encode("utf-8")
