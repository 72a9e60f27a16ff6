"""What the recording shows for one resource, gathered in recorded order by the learner's walk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hudproxy.resources.invalid import Rejected
from hudproxy.resources.listing import ListSample
from hudproxy.resources.operations import WriteSample
from hudproxy.resources.templates import Segments

ItemKey = tuple[Segments, str]


@dataclass
class Samples:
    """What the recording shows for one resource, gathered in recorded order."""

    reads: list[int] = field(default_factory=list)
    lists: list[ListSample] = field(default_factory=list)
    creates: list[WriteSample] = field(default_factory=list)
    updates: dict[str, list[WriteSample]] = field(default_factory=dict)
    deletes: list[WriteSample] = field(default_factory=list)
    missing: list[WriteSample] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)  # 4xx writes: validation the model does not reproduce
    rejected: list[Rejected] = field(default_factory=list)  # 400/422 writes, kept when a document has schemas
    baseline: dict[ItemKey, dict[str, Any]] = field(default_factory=dict)
    current: dict[ItemKey, dict[str, Any]] = field(default_factory=dict)
    touched: set[ItemKey] = field(default_factory=set)
    late: list[int] = field(default_factory=list)
