"""The journal scrubs what it stores as the cassette does, echoes included: a live response (passthrough, a
cassette recorded with --keep-secrets) that repeats its request's secret keeps none of it in the SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hudproxy.journal.entry import Pending, to_row
from hudproxy.journal.writer import JournalWriter
from hudproxy.replay.engine import Outcome
from hudproxy.scrub import ScrubPolicy
from hudproxy.testing import make_request, make_response

SECRET, TOKEN = "qk-0042-live-secret", "tok-0042-bearer-abc"


def echoing_call() -> Outcome:
    request = make_request(url=f"http://api.test/get?api_key={SECRET}", headers=[("Authorization", f"Bearer {TOKEN}")])
    response = make_response(
        json={"url": f"http://api.test/get?api_key={SECRET}", "seen": TOKEN, "next": f"/get?page=2&k={SECRET}"}
    )
    return Outcome(request, response)


@pytest.mark.parametrize("worker", [False, True], ids=["writer-thread", "worker-process"])
def test_a_response_echoing_its_request_secrets_reaches_the_journal_scrubbed(tmp_path: Path, worker: bool) -> None:
    path = tmp_path / "journal.db"
    writer = JournalWriter(path, ScrubPolicy.default(), worker=worker)

    writer.add(Pending("default", 1, time.time(), 1.0, echoing_call()))
    writer.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("journal.db*"))
    assert b"SCRUBBED:apikey:" in stored
    assert SECRET.encode() not in stored and TOKEN.encode() not in stored


def test_a_row_built_without_a_file_is_scrubbed_alike() -> None:
    row = to_row(Pending("default", 1, time.time(), 1.0, echoing_call()), ScrubPolicy.default())

    assert SECRET not in repr(row) and TOKEN not in repr(row)
    assert row["response_body"].count("SCRUBBED:apikey:") == 2
