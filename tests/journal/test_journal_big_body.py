"""A huge request body reaches the journal as its first MiB and its size: the serving loop never copies, ships or
scrubs the whole upload for a row that shows its first 256 KiB; the row says how large the body was, and a secret
in the kept part is scrubbed as in any other row."""

from __future__ import annotations

import json
import marshal
from pathlib import Path

from hudproxy.interaction.model import Request, Response
from hudproxy.journal import read_calls
from hudproxy.journal.entry import CAPTURED_BODY, capture
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.outcome import Outcome

SECRET = "sk-live-4f9a2c77e1"
SIZE = 48 * 1024 * 1024


def big_upload() -> Request:
    body = json.dumps({"client_secret": SECRET, "blob": "x" * SIZE}).encode()
    return Request("POST", "http://api.test/upload", (("Content-Type", "application/json"),), body)


def test_a_huge_body_is_captured_as_a_bounded_prefix_and_its_size() -> None:
    request = big_upload()
    outcome = Outcome(request, Response(404, "Not Found", (), b"{}"))
    shipped = marshal.dumps(capture("s", 1, 0.0, 1.0, outcome, "http", None, set()), 2)
    assert len(shipped) < CAPTURED_BODY + 64 * 1024  # not the 48 MiB body


def test_the_row_says_how_large_the_body_was_and_keeps_no_secret(tmp_path: Path) -> None:
    request = big_upload()
    writer = JournalWriter(tmp_path / "j.db")
    writer.record("s", 1, 0.0, 1.0, Outcome(request, Response(404, "Not Found", (), b"{}")))
    writer.close()
    (row,) = read_calls(tmp_path / "j.db")
    assert row.request_body is not None
    assert row.request_body.endswith(f"[truncated: {len(request.body)} bytes in all]")
    assert row.request_body.startswith('{"client_secret": "SCRUBBED:') and SECRET not in row.request_body
    assert len(row.request_body) < 300 * 1024
