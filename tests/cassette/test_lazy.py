"""A big cassette opened for replay is memory-mapped from its compiled image: interactions are read from the map
as they are served, the index keys come from their own cache, and any change to the file is seen."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hudproxy.cassette import compiled
from hudproxy.cassette.files import load_cassette, save_cassette
from hudproxy.cassette.lazy import LazyInteractions
from hudproxy.cassette.model import Cassette
from hudproxy.errors import CassetteError
from hudproxy.matching import image
from hudproxy.matching.index import CassetteIndex
from hudproxy.replay.engine import policies_for
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

COUNT = 600
Serve = Callable[[Any], str]  # tests/conftest.py's `upstream` fixture


def orders(count: int = COUNT, total: int = 0) -> Cassette:
    """Over MIN_SIZE: `count` orders with a 4 KB note each."""
    note = "n" * 4000
    return make_cassette(
        make_interaction(
            make_request(url=f"http://api.test/orders/A{n}"),
            make_response(json={"id": f"A{n}", "total": n + total, "note": note}),
        )
        for n in range(count)
    )


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = save_cassette(orders(), tmp_path / "orders.json")
    assert path.stat().st_size > compiled.MIN_SIZE
    load_cassette(path)  # the first load parses the file and compiles its image
    return path


def test_a_compiled_cassette_opens_without_reading_an_interaction(big: Path) -> None:
    opened = load_cassette(big, lazy=True)

    assert isinstance(opened.interactions, LazyInteractions)
    assert opened.interactions.inflated == 0
    assert len(opened) == COUNT and opened.digest is not None
    assert opened.interactions[417] == load_cassette(big).interactions[417]
    assert opened.interactions.inflated == 1


def test_a_replay_server_reads_only_what_it_serves(big: Path, upstream: Serve) -> None:
    app = create_replay_app(big, ReplayOptions(journal=None))
    base = upstream(app)
    lazy = app.engine.index.interactions
    assert isinstance(lazy, LazyInteractions)

    with httpx.Client(base_url=base) as client:
        answers = [client.get(f"/orders/A{n}") for n in (3, 599, 3)]
        missed = client.get("/orders/B1")

    assert [a.json()["id"] for a in answers] == ["A3", "A599", "A3"]
    assert missed.status_code == 501
    assert lazy.inflated <= 2 + 12  # the two served, and the 4 candidates per shown near miss (3) compared


def test_the_index_keys_are_computed_once_and_read_back(big: Path) -> None:
    opened = load_cassette(big, lazy=True)
    policy = policies_for(opened)
    first = CassetteIndex(opened.interactions, policy, opened.digest)
    assert image.image_path(opened.digest or "", policy).exists()

    again = load_cassette(big, lazy=True)
    second = CassetteIndex(again.interactions, policy, again.digest)

    assert second.by_key == first.by_key and second.keys == first.keys
    assert list(second.writes_before) == list(first.writes_before) == [0] * COUNT
    assert again.interactions.inflated == 0  # type: ignore[attr-defined]


def test_a_changed_file_is_read_again(big: Path) -> None:
    save_cassette(orders(total=1000), big)

    opened = load_cassette(big, lazy=True)

    assert json.loads(opened.interactions[5].response.body)["total"] == 1005


def test_a_cassette_with_a_recording_log_beside_it_is_loaded_whole(big: Path) -> None:
    """A log means a recording stopped short: it is merged, which the image does not know about."""
    from hudproxy.cassette.appendlog import log_path

    log_path(big).write_bytes(b"")
    try:
        assert isinstance(load_cassette(big, lazy=True).interactions, list)
    finally:
        os.unlink(log_path(big))


def test_a_damaged_row_is_one_clear_error_naming_the_entry(big: Path) -> None:
    entry = compiled.cache_path(big.read_bytes())
    data = bytearray(entry.read_bytes())
    data[-50:] = b"\xff" * 50  # the last row's bytes
    entry.write_bytes(bytes(data))

    opened = load_cassette(big, lazy=True)

    assert opened.interactions[0].request.url.endswith("/orders/A0")
    with pytest.raises(CassetteError, match=r"interaction 599 .*damaged.*delete the file"):
        opened.interactions[COUNT - 1]


def test_the_first_start_parses_the_file_and_the_next_one_maps_it(tmp_path: Path) -> None:
    path = save_cassette(orders(), tmp_path / "fresh.json")

    first, second = load_cassette(path, lazy=True), load_cassette(path, lazy=True)

    assert isinstance(first.interactions, list) and first.digest is not None
    assert isinstance(second.interactions, LazyInteractions) and second.digest == first.digest
