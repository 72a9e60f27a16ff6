"""The in-memory cassette: interactions in recorded order plus the cassette-level metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hudproxy.interaction.model import Interaction

VCR_VERSION = 1  # vcrpy's cassette format version, the file's `version:`
FORMAT_VERSION = 1


@dataclass
class Cassette:
    """Interactions in recorded order; `meta` is the `hudproxy` section of the file (format, policies)."""

    interactions: list[Interaction] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=lambda: {"format": FORMAT_VERSION})
    path: Path | None = None
    # The SHA-256 of the file's bytes when it was opened from the compiled cache: what keys the replay index's
    # own cache (hudproxy.matching.image), so a big cassette's keys are computed once.
    digest: str | None = None

    def __len__(self) -> int:
        return len(self.interactions)
