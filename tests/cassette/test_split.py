"""A big YAML cassette parsed in pieces on two cores (cassette/split.py) loads exactly as the full loader loads
it, and anything the pieces cannot vouch for (a bad value, a parse error, a torn tail, aliases) is left to the
full loader, with its located error."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from hudproxy.cassette import split
from hudproxy.cassette.files import load_cassette, save_cassette
from hudproxy.cassette.yamlio import CassetteLoader, _could_nest_past, may_alias
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from traffic import write_cassette  # noqa: E402 - the benchmark's own vcrpy-layout writer (sorted keys, quoted)


@pytest.fixture
def pieces_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every YAML file goes the split way, cut into many small pieces (both halves, the forked one too)."""
    monkeypatch.setattr(split, "MIN_SIZE", 0)
    monkeypatch.setattr(split, "PIECE_BYTES", 2_000)


def full_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Interaction]:
    """The reference: the same file through the full loader (one libyaml pass, no pieces)."""
    with monkeypatch.context() as m:
        m.setattr(split, "MIN_SIZE", 10**15)
        return list(load_cassette(path).interactions)


def hudproxy_written(tmp_path: Path) -> Path:
    """What hudproxy writes: its meta first, block-literal bodies, binary and compressed ones, odd headers."""
    import gzip

    interactions = []
    for n in range(40):
        body = f'{{\n  "id": {n},\n  "note": "line one\\nline two"\n}}\n'
        interactions.append(
            make_interaction(
                make_request(
                    method="POST" if n % 2 else "GET",
                    url=f"http://api.test/o/{n}?q=a%20b&n={n}",
                    body=b'{"x": 1}' if n % 2 else b"",
                ),
                make_response(
                    status=201 if n % 5 == 0 else 200,
                    body=body.encode(),
                    headers=(("Content-Type", "application/json"), ("X-Note", "yes: no # not a comment")),
                ),
            )
        )
    packed = gzip.compress(b'{"zipped": true}')
    interactions.append(
        make_interaction(
            make_request(url="http://api.test/zip"),
            make_response(body=packed, headers=(("Content-Encoding", "gzip"), ("Content-Length", str(len(packed))))),
        )
    )
    interactions.append(
        make_interaction(make_request(url="http://api.test/png"), make_response(body=bytes(range(256)) * 4))
    )
    return save_cassette(make_cassette(interactions), tmp_path / "written.yaml")


REAL = sorted((ROOT / "cassettes").glob("*.yaml"))


@pytest.mark.parametrize("source", REAL, ids=[p.name for p in REAL])
def test_the_recorded_cassettes_load_the_same_in_pieces(
    source: Path, tmp_path: Path, pieces_everywhere: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / source.name
    shutil.copyfile(source, path)
    assert split.parse(path.read_bytes()) is not None  # the split way was taken, not declined

    assert list(load_cassette(path).interactions) == full_load(path, monkeypatch)


def test_what_hudproxy_writes_loads_the_same_in_pieces(
    tmp_path: Path, pieces_everywhere: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = hudproxy_written(tmp_path)
    assert split.parse(path.read_bytes()) is not None

    loaded = load_cassette(path)

    assert list(loaded.interactions) == full_load(path, monkeypatch)
    assert len(loaded.interactions) == 42


def test_a_big_vcrpy_layout_cassette_loads_the_same_with_a_forked_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over MIN_SIZE with the default pieces: the real fast path, the second half parsed by a forked child."""
    path = tmp_path / "big.yaml"
    write_cassette(path, 900)
    text = path.read_bytes()
    assert len(text) > split.MIN_SIZE
    forked: list[int] = []
    real_fork = os.fork

    def fork_seen() -> int:
        pid = real_fork()
        forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork_seen)

    parsed = split.parse(text)
    assert parsed is not None
    assert forked  # the second half really was parsed in a child
    head, interactions = parsed

    assert head == {"interactions": None, "version": 1}
    assert interactions == full_load(path, monkeypatch)
    assert [i.index for i in interactions] == list(range(900))
    assert list(load_cassette(path).interactions) == interactions


def test_a_bad_value_in_the_forked_half_is_the_full_loaders_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    write_cassette(path, 900)
    lines = path.read_text().splitlines(keepends=True)
    codes = [n for n, line in enumerate(lines) if line.strip() == "code: 200"]
    lines[codes[800]] = lines[codes[800]].replace("200", "999")
    path.write_text("".join(lines))

    assert split.parse(path.read_bytes()) is None
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    assert str(caught.value).startswith(f"{path}:{codes[800] + 1}: interactions[800].response.status.code: status 999")


def test_a_parse_error_in_a_piece_is_the_full_loaders_located_error(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    write_cassette(path, 900)
    lines = path.read_text().splitlines(keepends=True)
    bad = [n for n, line in enumerate(lines) if "method: 'GET'" in line][300]
    lines[bad] = lines[bad].replace("'GET'", "'GET")
    path.write_text("".join(lines))

    with pytest.raises(CassetteError, match=r"big\.yaml:\d+: not valid YAML"):
        load_cassette(path)


def test_a_torn_tail_is_still_recovered(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "big.yaml"
    write_cassette(path, 900)
    text = path.read_bytes()
    without_version = text[: text.rindex(b"version: 1")]
    path.write_bytes(b"version: 1\n" + without_version + b"- request:\n    body: null\n    uri: 'http://127.0.0.1:99")

    with caplog.at_level(logging.WARNING, logger="hudproxy.cassette"):
        loaded = load_cassette(path)

    assert len(loaded.interactions) == 900
    assert "the last interaction was cut off" in caplog.text


def test_aliases_and_an_mcp_section_go_the_full_way(tmp_path: Path, pieces_everywhere: None) -> None:
    path = hudproxy_written(tmp_path)
    text = path.read_text()
    anchored = text.replace("  format: 1\n", "  format: 1\n  extra: &shared 1\n  again: *shared\n", 1)

    assert split.parse(anchored.encode()) is None
    assert (
        split.parse(b"version: 1\nmcp: []\ninteractions:\n" + text.split("interactions:\n", 1)[1].encode())[0]["mcp"]
        == []
    )  # parsed, and files._load_split then leaves an `mcp:` section to the full loader
    assert split.parse(b"version: 1\ninteractions:\n- request: {}\nversion: 2\n- request: {}\n") is None


def test_long_lines_no_longer_make_the_loader_walk_the_document_twice() -> None:
    """5 KB bodies on one line each made the nesting guard walk every event of a big cassette first."""
    text = b"version: 1\ninteractions: []\nhudproxy:\n  note: '" + b"x" * 12_000 + b"'\n"

    assert not _could_nest_past(text, 10_000)
    assert _could_nest_past(b"a:\n  " + b"- " * 6_000 + b"x\n", 10_000)
    assert _could_nest_past(b"a:\n" + b"".join(b" " * i + b"k:\n" for i in range(1, 6_000)), 10_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(b"&a 1", True), (b"x: &a 1", True), (b"- [&a 1]", True), (b"u: 'a=1&b=2'", False), (b"x: & 1", False)],
)
def test_anchors_are_found_where_yaml_allows_them(text: bytes, expected: bool) -> None:
    assert may_alias(text) is expected


@pytest.mark.parametrize(
    "document",
    [
        "a: 1\nb: [1, 2.5, null, true, 'x', 2024-01-01, 0x1f]\nc: {d: e}\n",
        "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
        "<<: {a: 1}\nb: 2\n",
        "a: !!binary aGVsbG8=\n",
        "? [1]\n: 2\n",
        "a: 1\na: 2\n",
        "a: !!set {[1]: 1}\n",
        "a: !!omap [{b: 1}]\n",
    ],
)
def test_the_plain_constructor_builds_what_safe_yaml_builds(document: str) -> None:
    def load(loader: type) -> object:
        try:
            return yaml.load(document, Loader=loader)
        except yaml.YAMLError as exc:
            return type(exc).__name__

    assert load(CassetteLoader) == load(yaml.SafeLoader)
