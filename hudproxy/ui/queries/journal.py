"""A session's calls in seq order, a page at a time, at any size: the order (seq and row id, two arrays) is read
once per session and filter, then topped up with the rows written since (a rowid range), so a page of a
100,000-call session is a bisect, a slice and one read of 200 rows by id. The journal has no (session, seq)
index on purpose (it would triple the cost of every write), so the inspector keeps its own, in memory.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hudproxy.journal.query import CallList, read_calls_by_id, session_order

KEPT = 8  # sessions (with their filters) whose order is kept: a few open tabs


@dataclass(frozen=True)
class CallPage:
    calls: CallList
    first_seq: int | None
    last_seq: int | None
    has_before: bool
    has_after: bool


@dataclass
class Order:
    seqs: array = field(default_factory=lambda: array("q"))
    ids: array = field(default_factory=lambda: array("q"))
    top: int = 0  # the journal's highest row id when last read

    def add(self, rows: list[tuple[int, int]]) -> None:
        """New rows mostly come after the last seq (appended); a late one (a long stream) re-sorts."""
        rows.sort()
        if not self.seqs or not rows or rows[0][0] >= self.seqs[-1]:
            self.seqs.extend(seq for seq, _ in rows)
            self.ids.extend(row for _, row in rows)
            return
        merged = sorted([*zip(self.seqs, self.ids, strict=True), *rows])
        self.seqs, self.ids = array("q", (s for s, _ in merged)), array("q", (i for _, i in merged))


class Timelines:
    def __init__(self, kept: int = KEPT) -> None:
        self._orders: OrderedDict[tuple[Any, ...], Order] = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def page(self, path: Path, session: str, after: int | None = None, before: int | None = None,
             limit: int = 200, **filters: str | None) -> CallPage:  # fmt: skip
        """`limit` calls after seq `after` (or before seq `before`), in seq order."""
        order = self._order(path, session, filters)
        if before is not None:
            end = bisect_left(order.seqs, before)
            start = max(0, end - limit)
        else:
            start = bisect_right(order.seqs, after or 0)
            end = min(len(order.seqs), start + limit)
        if start >= end:
            return CallPage(CallList(), None, None, start > 0, False)
        calls = read_calls_by_id(path, list(order.ids[start:end]))
        return CallPage(calls, order.seqs[start], order.seqs[end - 1], start > 0, end < len(order.seqs))

    def _order(self, path: Path, session: str, filters: dict[str, str | None]) -> Order:
        try:
            identity = path.stat().st_ino  # a journal replaced by another file starts over
        except OSError:
            identity = None
        key = (str(path), identity, session, tuple(sorted((k, v) for k, v in filters.items() if v)))
        with self._lock:
            order = self._orders.pop(key, None) or Order()
            rows, top = session_order(path, session, after_id=order.top, **filters)
            if top < order.top:  # rows went away (a rewritten file): read it all again
                order = Order()
                rows, top = session_order(path, session, **filters)
            order.add(rows)
            order.top = top
            self._orders[key] = order
            while len(self._orders) > self._kept:
                self._orders.popitem(last=False)
            return order
