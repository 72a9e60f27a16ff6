"""`hudproxy check CASSETTE... --max-age`: exit 1 when a cassette holds a recording older than allowed (its
interactions' `recorded_at`), 0 otherwise, 2 on bad input; the real CLI in a process."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from drift_helpers import hudproxy

from hudproxy.cassette import save_cassette
from hudproxy.drift.age import age_of, parse_duration
from hudproxy.errors import ConfigError
from hudproxy.testing import make_cassette, make_interaction


def stamp(days_ago: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cassette(folder: Path, name: str, ages: list[float | None]) -> Path:
    interactions = [make_interaction(index=n, recorded_at=None if a is None else stamp(a)) for n, a in enumerate(ages)]
    return save_cassette(make_cassette(interactions), folder / f"{name}.yaml")


def test_an_old_interaction_makes_the_cassette_old(tmp_path: Path) -> None:
    old = cassette(tmp_path, "old", [3, 40, 1])  # the second interaction was recorded 40 days ago
    new = cassette(tmp_path, "new", [3, 1])
    done = hudproxy("check", old, new, "--max-age", "30d")
    assert done.returncode == 1, done.stderr
    assert "too old" in done.stdout and "1 cassettes recorded more than 30d ago" in done.stdout
    assert str(old) in done.stdout.splitlines()[-1] and str(new) not in done.stdout.splitlines()[-1]
    assert hudproxy("check", new, "--max-age", "30d").returncode == 0
    assert hudproxy("check", old, "--max-age", "6w").returncode == 0


def test_json_report_and_undated_interactions(tmp_path: Path) -> None:
    mixed = cassette(tmp_path, "mixed", [None, 2])
    undated = cassette(tmp_path, "undated", [None])
    done = hudproxy("check", mixed, undated, "--max-age", "1d", "--json")
    assert done.returncode == 1
    rows = {Path(row["cassette"]).name: row for row in json.loads(done.stdout)["cassettes"]}
    assert rows["mixed.yaml"]["too_old"] and rows["mixed.yaml"]["undated"] == 1
    assert not rows["undated.yaml"]["too_old"] and rows["undated.yaml"]["oldest"] is None  # no date: never guessed


@pytest.mark.parametrize("bad", ["30", "month", "30x", "-3d"])
def test_a_bad_age_is_one_line(tmp_path: Path, bad: str) -> None:
    done = hudproxy("check", cassette(tmp_path, "c", [1]), "--max-age", bad)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "--max-age" in done.stderr


def test_durations() -> None:
    assert parse_duration("30d") == dt.timedelta(days=30)
    assert parse_duration("1d12h") == dt.timedelta(hours=36)
    assert parse_duration("2w") == dt.timedelta(days=14)
    with pytest.raises(ConfigError):
        parse_duration("")


def test_age_reads_every_interaction() -> None:
    ages = age_of([make_interaction(recorded_at="2026-01-02T00:00:00Z"), make_interaction(recorded_at=None),
                   make_interaction(recorded_at="2025-12-31T23:00:00.000Z")])  # fmt: skip
    assert ages.oldest == dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC) and ages.undated == 1 and ages.total == 3
