"""Record modes through the real proxy: what reaches the upstream and what ends up in the cassette."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hudproxy.cassette.files import load_cassette
from hudproxy.errors import ConfigError
from hudproxy.record.recorder import Recorder

KNOWN, NEW = "/items/1", "/items/2"


@pytest.fixture
def existing(traffic: Any, record: Any, cassette: Path) -> Path:
    """A cassette holding one known request (`GET /items/1`); the upstream's log is cleared afterwards."""
    with record(cassette, traffic.url, mode="all") as client:
        assert client.get(KNOWN).status_code == 200
    traffic.seen.clear()
    return cassette


def test_once_records_everything_into_a_new_cassette(traffic: Any, record: Any, cassette: Path) -> None:
    with record(cassette, traffic.url, mode="once") as client:
        answers = [client.get(KNOWN), client.get(NEW)]
    assert [a.status_code for a in answers] == [200, 200]
    assert traffic.seen == [f"GET {KNOWN}", f"GET {NEW}"]
    assert [i.request.path for i in load_cassette(cassette).interactions] == [KNOWN, NEW]


@pytest.mark.parametrize(
    ("mode", "known_reaches_upstream", "new_is_recorded"),
    [
        pytest.param("once", False, False, id="once-existing"),
        pytest.param("new_episodes", False, True, id="new_episodes"),
        pytest.param("all", True, True, id="all"),
        pytest.param("none", False, False, id="none"),
    ],
)
def test_mode_on_an_existing_cassette(
    traffic: Any, record: Any, existing: Path, mode: str, known_reaches_upstream: bool, new_is_recorded: bool
) -> None:
    with record(existing, traffic.url, mode=mode) as client:
        known = client.get(KNOWN)
        known_forwarded = list(traffic.seen)
        new = client.get(NEW)
    assert known.status_code == 200 and known.json() == {"id": "1", "status": "before"}
    assert known_forwarded == ([f"GET {KNOWN}"] if known_reaches_upstream else [])
    if new_is_recorded:
        assert new.status_code == 200 and new.json() == {"id": "2", "status": "before"}
        assert traffic.seen[-1] == f"GET {NEW}"
    else:
        assert new.status_code == 501 and new.headers["x-hudproxy-unmatched"] == "1"
        assert f"GET {NEW}" in new.json()["message"]
        assert traffic.seen == known_forwarded, "a refused request reached the upstream"
    paths = [i.request.path for i in load_cassette(existing).interactions]
    expected = [KNOWN] + ([KNOWN] if known_reaches_upstream else []) + ([NEW] if new_is_recorded else [])
    assert paths == expected


def test_an_invalid_mode_is_refused_with_the_valid_ones(cassette: Path) -> None:
    with pytest.raises(ConfigError, match="valid record modes: once, new_episodes, all, none"):
        Recorder(cassette, "sometimes")
    assert not cassette.exists()


@pytest.mark.parametrize("spelling", ["ONCE", "new-episodes", " all "])
def test_mode_names_are_forgiving_about_case_and_dashes(cassette: Path, spelling: str) -> None:
    recorder = Recorder(cassette, spelling)
    recorder.close()
    assert recorder.mode.value == spelling.strip().lower().replace("-", "_")
