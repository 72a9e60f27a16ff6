"""The cassette table's filter index is built behind the first look: the unfiltered table is answered from the
cassette's own list while the build is still going (held here until the test lets it go), a filtered page waits
for the index, and both give the same rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from ui_shop import CASSETTE

from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.inspection import InteractionFilter
from hudproxy.interaction.model import Interaction
from hudproxy.ui.queries.cassettes import CassetteIndex, Page


class HeldList(list[Interaction]):
    """The cassette's interactions, whose whole walk (what the index build does) waits for `go`; reading one by
    position (what a page does) does not."""

    def __init__(self, items: list[Interaction], go: threading.Event) -> None:
        super().__init__(items)
        self.go = go

    def __iter__(self) -> Iterator[Interaction]:
        self.go.wait(timeout=10)
        return super().__iter__()


class BrokenList(list[Interaction]):
    def __iter__(self) -> Iterator[Interaction]:
        raise RuntimeError("this cassette cannot be walked")


def test_the_unfiltered_table_does_not_wait_for_the_index_a_filtered_page_does() -> None:
    interactions = load_cassette(CASSETTE).interactions
    go = threading.Event()
    index = CassetteIndex(Cassette(HeldList(interactions, go)))
    first = index.page(InteractionFilter(), offset=2, limit=4)  # answered while the build is held
    assert [row["idx"] for row in first.rows] == [2, 3, 4, 5]
    assert first.matching == first.total == len(interactions)
    filtered: list[Page] = []
    waiting = threading.Thread(target=lambda: filtered.append(index.page(InteractionFilter.parse(["path=*"]), 2, 4)))
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive() and not filtered  # it needs the index, which is not built yet
    go.set()
    waiting.join(timeout=10)
    assert filtered and filtered[0].rows == first.rows  # the list's rows and the index's rows are the same rows
    gets = InteractionFilter.parse(["method=GET"])
    assert [r["idx"] for r in index.page(gets, 0, 1000).rows] == [
        n for n, i in enumerate(interactions) if gets.accepts(i)
    ]


def test_a_failed_build_is_raised_on_the_filtered_page_not_lost_in_its_thread() -> None:
    index = CassetteIndex(Cassette(BrokenList(load_cassette(CASSETTE).interactions)))
    assert len(index.page(InteractionFilter(), 0, 3).rows) == 3
    with pytest.raises(RuntimeError, match="cannot be walked"):
        index.page(InteractionFilter.parse(["method=GET"]))
