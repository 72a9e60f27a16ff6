"""Offset paging, shared by the cassette table and the runs table: where the next and previous pages start."""

from __future__ import annotations


class OffsetPaging:
    """Mixed into a page dataclass with `offset`, `limit` and `matching` (the rows the filter accepts)."""

    offset: int
    limit: int
    matching: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.matching else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None
