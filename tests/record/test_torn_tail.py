"""A recording cut mid-write (SIGKILL mid-append, power loss) loads: the torn last interaction is dropped with
one warning naming the file, the byte offset and how many interactions were kept; the rest is never lost.

The files are real recordings through the recording proxy, then cut at chosen offsets."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hudproxy.cassette.appendlog import log_path
from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.tail import MARKER_PREFIX

PATHS = ["/json", "/binary", "/items/7", "/chunked", "/gzip"]


@pytest.fixture
def recorded_yaml(record: Callable[..., Any], traffic: Any, tmp_path: Path) -> bytes:
    """The cassette as a recording in progress has it (with its markers; a clean stop removes them)."""
    cassette = tmp_path / "full.yaml"
    with record(cassette, traffic.url) as client:
        for path in PATHS:
            assert client.get(path).status_code == 200
        deadline = time.monotonic() + 10  # the YAML file is extended in the background, in order
        while cassette_markers(cassette) < len(PATHS) and time.monotonic() < deadline:
            time.sleep(0.01)
        text = cassette.read_bytes()
    assert cassette_markers(cassette) == 0, "a clean stop leaves no markers"
    assert [i.request.path for i in load_cassette(cassette).interactions] == PATHS
    return text


def cassette_markers(cassette: Path) -> int:
    return cassette.read_bytes().count(b"\n" + MARKER_PREFIX) if cassette.exists() else 0


def cut_copy(text: bytes, at: int, folder: Path, name: str = "cut.yaml") -> Path:
    target = folder / name
    target.write_bytes(text[:at])
    return target


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def offsets_in_last_item(text: bytes) -> dict[str, tuple[int, int]]:
    """Cut points inside the last interaction → (cut offset, where the complete part ends)."""
    markers = [i + 1 for i in range(len(text)) if text.startswith(b"\n" + MARKER_PREFIX, i)]
    last_complete = text.index(b"\n", markers[-2]) + 1  # end of the marker before the last item
    last_item = text.rindex(b"\n- request:") + 1
    body = text.index(b"string:", last_item) + len("string:") + 5
    return {
        "after-item-start": (last_item + len("- request:\n"), last_complete),
        "mid-string": (body, last_complete),
        "mid-meta": (text.index(b"index:", last_item) + 4, last_complete),
        "inside-the-marker": (markers[-1] + 10, last_complete),
        "marker-without-newline": (len(text) - 1, last_complete),
    }


@pytest.mark.parametrize("where", ["after-item-start", "mid-string", "mid-meta", "inside-the-marker",
                                   "marker-without-newline"])  # fmt: skip
def test_a_torn_yaml_tail_is_dropped_with_one_warning(
    recorded_yaml: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    at, complete = offsets_in_last_item(recorded_yaml)[where]
    cut = cut_copy(recorded_yaml, at, tmp_path)
    caplog.set_level(logging.WARNING)
    loaded = load_cassette(cut)
    assert [i.request.path for i in loaded.interactions] == PATHS[:-1]
    (message,) = warnings_of(caplog)
    assert str(cut) in message and f"byte offset {complete}" in message and "kept 4 interactions" in message


def test_a_cut_on_a_complete_item_loads_without_warning(
    recorded_yaml: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    complete = offsets_in_last_item(recorded_yaml)["mid-string"][1]
    caplog.set_level(logging.WARNING)
    assert len(load_cassette(cut_copy(recorded_yaml, complete, tmp_path)).interactions) == 4
    assert warnings_of(caplog) == []


def test_every_cut_of_a_recording_loads_the_items_completed_before_it(recorded_yaml: bytes, tmp_path: Path) -> None:
    """Any byte offset after the first item: the loader never fails and never returns a half item."""
    first_complete = recorded_yaml.index(b"\n", recorded_yaml.index(b"\n" + MARKER_PREFIX) + 1) + 1
    ends = [recorded_yaml.index(b"\n", i + 1) + 1 for i in range(len(recorded_yaml))
            if recorded_yaml.startswith(b"\n" + MARKER_PREFIX, i)]  # fmt: skip
    for at in range(first_complete, len(recorded_yaml) + 1, 97):
        expected = sum(1 for end in ends if end <= at)
        loaded = load_cassette(cut_copy(recorded_yaml, at, tmp_path))
        assert [i.request.path for i in loaded.interactions] == PATHS[:expected], at


def test_a_torn_json_recording_log_is_recovered(
    record: Callable[..., Any], traffic: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A JSON recording killed before its stop: the cassette is rebuilt from the log, a torn last line dropped."""
    cassette = tmp_path / "rec" / "live.json"
    with record(cassette, traffic.url) as client:
        for path in PATHS:
            assert client.get(path).status_code == 200
        log_text = log_path(cassette).read_bytes()  # what a SIGKILL now would leave: no JSON file, the log
        assert not cassette.exists()
    line_ends = [i + 1 for i, byte in enumerate(log_text) if byte == ord("\n")]
    crashed = tmp_path / "crashed.json"
    for cut_inside in range(1, len(PATHS) + 1):
        at = line_ends[cut_inside] - 7  # inside line `cut_inside` (line 0 is the header)
        log_path(crashed).write_bytes(log_text[:at])
        caplog.clear()
        caplog.set_level(logging.WARNING)
        loaded = load_cassette(crashed)
        assert [i.request.path for i in loaded.interactions] == PATHS[: cut_inside - 1]
        (message,) = warnings_of(caplog)
        assert str(log_path(crashed)) in message and f"byte offset {line_ends[cut_inside - 1]}" in message
    shutil.rmtree(tmp_path / "rec")


def test_recording_again_continues_a_torn_file_cleanly(
    recorded_yaml: bytes, record: Callable[..., Any], traffic: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The next recording writes the recovered part whole, then appends: the file loads without a warning."""
    at, _ = offsets_in_last_item(recorded_yaml)["mid-string"]
    cut = cut_copy(recorded_yaml, at, tmp_path)
    with record(cut, traffic.url, mode="new_episodes") as client:
        assert client.get("/items/8").status_code == 200
    caplog.clear()
    caplog.set_level(logging.WARNING)
    assert [i.request.path for i in load_cassette(cut).interactions] == [*PATHS[:-1], "/items/8"]
    assert warnings_of(caplog) == []
