"""The recorder's cassette writer: each interaction is on disk when `append` returns; YAML grows by appending,
JSON (and MCP in YAML) through an append log written out once at stop; failures are raised, never swallowed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from hudproxy.cassette import Cassette, load_cassette
from hudproxy.cassette.appendlog import log_path
from hudproxy.cassette.atomic import write_all
from hudproxy.cassette.groupcommit import GroupCommit
from hudproxy.cassette.writer import CassetteWriter
from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.model import Interaction
from hudproxy.mcp.exchange import Exchange, to_interaction
from hudproxy.testing import make_interaction, make_request, make_response

SSE = b"data: 1\n\ndata: 2\n\n"  # ends in blank lines: YAML keeps them with `|+` and PyYAML adds `...`


def interactions(n: int, size: int = 0) -> list[Interaction]:
    out = []
    for i in range(n):
        body = SSE if i % 2 else b'{"n": %d, "pad": "%s"}' % (i, b"x" * size)
        out.append(make_interaction(make_request("GET", f"http://api.test/items/{i}"), make_response(body=body)))
    return out


def test_yaml_recording_appends_to_the_same_file_and_loads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    writer = CassetteWriter(Cassette(path=path), path)
    recorded = interactions(6)
    writer.append(recorded[0])
    writer.flush()
    inode = path.stat().st_ino
    for interaction in recorded[1:]:
        writer.append(interaction)
        writer.flush()
        assert path.stat().st_ino == inode, "later interactions must be appended, not rewritten"
    assert path.read_bytes().count(b"# hudproxy: complete at byte") == 6, "each append ends with its marker"
    writer.close()
    assert not log_path(path).exists(), "the log goes once the file holds everything"
    assert b"# hudproxy: complete at byte" not in path.read_bytes(), "torn-tail markers go at a clean stop"
    loaded = load_cassette(path)
    assert [i.response.body for i in loaded.interactions] == [i.response.body for i in recorded]
    assert [i.index for i in loaded.interactions] == list(range(6))


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_each_interaction_is_in_the_files_when_append_returns(tmp_path: Path, suffix: str) -> None:
    """Write-before-answer: what another process reads right after `append` (no flush, no close) holds it."""
    path = tmp_path / f"rec{suffix}"
    writer = CassetteWriter(Cassette(path=path), path, sync_interval=60)
    try:
        for n, interaction in enumerate(interactions(4), start=1):
            writer.append(interaction)
            assert [i.request.path for i in load_cassette(path).interactions] == [f"/items/{k}" for k in range(n)]
    finally:
        writer.close()


def test_json_records_through_a_log_whose_size_grows_linearly(tmp_path: Path) -> None:
    """3,000 interactions: the JSON file is written once, at stop; the log beside it is the only other write
    (before: the whole file rewritten per flush, 1.1 GB written for 3,000)."""
    path = tmp_path / "rec.json"
    writer = CassetteWriter(Cassette(path=path), path)
    for interaction in interactions(3000, size=200):
        writer.append(interaction)
    assert not path.exists(), "the JSON cassette must not be rewritten while recording"
    logged = log_path(path).stat().st_size
    writer.close()
    final = path.stat().st_size
    assert not log_path(path).exists()
    assert logged + final < 3 * final, (logged, final)
    assert len(load_cassette(path).interactions) == 3000


def test_mcp_exchanges_in_yaml_go_through_the_log_and_land_in_their_section(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    writer = CassetteWriter(Cassette(path=path), path)
    writer.append(interactions(1)[0])
    writer.append(to_interaction(Exchange("tools", "tools/call", {"name": "get_balance", "arguments": {}}, {"ok": 1})))
    writer.append(interactions(2)[1])
    assert log_path(path).exists()
    midway = load_cassette(path)  # a crash now: the file plus the log
    assert [i.index for i in midway.interactions] == [0, 1, 2]
    writer.close()
    assert not log_path(path).exists()
    loaded = load_cassette(path)
    assert [i.request.method for i in loaded.interactions] == ["GET", "MCP", "GET"]
    assert "mcp:" in path.read_text()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_value_that_cannot_be_serialised_is_refused_loudly_and_the_rest_still_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: the background thread died on it and nothing more was written, silently."""
    path = tmp_path / "rec.yaml"
    writer = CassetteWriter(Cassette(path=path), path)
    good = interactions(3)
    writer.append(good[0])
    bad = make_interaction(make_request("GET", "http://api.test/bad"), make_response(body=b"{}"))
    bad = Interaction(bad.request, bad.response, duration_ms="twelve")  # type: ignore[arg-type]
    refusal = r"rec\.yaml: interaction #1 \(GET /bad\) is not recorded: hudproxy\.duration_ms"
    with pytest.raises(CassetteWriteError, match=refusal):
        writer.append(bad)
    assert "NOT RECORDED" in caplog.text and caplog.records[-1].levelname == "ERROR"
    writer.append(good[2])
    with pytest.raises(CassetteWriteError, match="the recording is incomplete"):
        writer.close()
    assert [i.request.path for i in load_cassette(path).interactions] == ["/items/0", "/items/2"]


def test_write_all_hands_over_every_byte_across_short_writes() -> None:
    """A pipe takes at most its buffer per write when the reader is slow: the loop must send the rest."""
    read_end, write_end = os.pipe()
    payload = os.urandom(1 << 20)
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(read_end, 4096):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    os.set_blocking(write_end, True)
    write_all(write_end, payload)
    os.close(write_end)
    reader.join(timeout=10)
    os.close(read_end)
    assert bytes(received) == payload


def test_the_fsync_thread_reports_a_failed_sync_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A failing fsync (here: a descriptor that is gone) is reported and logged; the thread keeps syncing."""
    gone = 4093  # a descriptor number nothing here opens: fsync refuses it (EBADF)
    with pytest.raises(OSError):
        os.fstat(gone)
    failures: list[str] = []
    commit = GroupCommit(lambda: [gone], failures.append, interval=0.01)
    try:
        commit.written()
        deadline = time.monotonic() + 10
        while not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        assert failures and "fsync failed" in failures[0]
        commit.written()
        while len(failures) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(failures) >= 2, "the thread must survive a failed sync"
    finally:
        commit.stop()
    assert "fsync failed" in caplog.text


@pytest.mark.parametrize("suffix", ["yaml", "json"])
@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (make_response(999, body=b"ok"), "status 999 is not an HTTP status"),
        (make_response(200, body=b"ok", headers=[("X-Name", "a\x01b")]), "control character"),
    ],
    ids=["status-999", "control-character"],
)
def test_an_answer_the_loader_would_refuse_is_not_written_and_the_cassette_still_loads(
    tmp_path: Path, suffix: str, response: object, problem: str
) -> None:
    """An upstream's status 999 (LinkedIn sends it) or a control character in a header: written, the whole
    cassette would never load again; instead that one exchange fails (its client gets 507) and the rest stay."""
    path = tmp_path / f"rec.{suffix}"
    writer = CassetteWriter(Cassette(path=path), path)
    good = interactions(2)
    writer.append(good[0])
    with pytest.raises(CassetteWriteError, match=problem) as refused:
        writer.append(make_interaction(make_request("GET", "http://api.test/odd"), response))  # type: ignore[arg-type]
    assert "GET /odd" in str(refused.value) and "would not load" in str(refused.value)
    writer.append(good[1])
    with pytest.raises(CassetteWriteError):
        writer.close()  # the recording is incomplete: said at stop
    assert [i.request.path for i in load_cassette(path).interactions] == ["/items/0", "/items/1"]
