"""How old a cassette's recordings are, from each interaction's `recorded_at` (ISO 8601, UTC), for CI checks.

An interaction without `recorded_at` (written by hand, or imported from a format that has no time) has no age:
it is counted, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Interaction

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(text: str, option: str = "--max-age") -> dt.timedelta:
    """`30d`, `12h`, `2w`, `1d12h`: ConfigError naming the option otherwise."""
    cleaned = text.strip().lower()
    pieces = DURATION.findall(cleaned)
    if not cleaned or DURATION.sub("", cleaned).strip() or not pieces:
        raise ConfigError(f"{option} {text!r}: give a duration such as 30d, 12h, 2w or 1d12h (s, m, h, d, w).")
    return dt.timedelta(seconds=sum(float(n) * UNITS[unit] for n, unit in pieces))


def parse_time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Age:
    """The oldest and newest recording times, and how many interactions carry none."""

    oldest: dt.datetime | None
    newest: dt.datetime | None
    total: int
    undated: int

    def older_than(self, limit: dt.timedelta, now: dt.datetime) -> bool:
        return self.oldest is not None and now - self.oldest > limit


def age_of(interactions: Iterable[Interaction]) -> Age:
    times: list[dt.datetime] = []
    total = 0
    for interaction in interactions:
        total += 1
        when = parse_time(interaction.recorded_at) if interaction.recorded_at else None
        if when is not None:
            times.append(when)
    return Age(min(times, default=None), max(times, default=None), total, total - len(times))


def describe_age(delta: dt.timedelta) -> str:
    days = delta.total_seconds() / 86_400
    if days >= 1:
        return f"{days:.0f} days"
    return f"{delta.total_seconds() / 3600:.1f} hours"
