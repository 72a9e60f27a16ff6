"""The recorder's cassette writer: appends to YAML (same file, O(1) per interaction), rewrites otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hudproxy.cassette import Cassette, load_cassette
from hudproxy.cassette.writer import CassetteWriter
from hudproxy.mcp.exchange import Exchange, to_interaction
from hudproxy.testing import make_interaction, make_request, make_response

SSE = b"data: 1\n\ndata: 2\n\n"  # ends in blank lines: YAML keeps them with `|+` and PyYAML adds `...`


def interactions(n: int) -> list:
    out = []
    for i in range(n):
        body = SSE if i % 2 else b'{"n": %d}' % i
        out.append(make_interaction(make_request("GET", f"http://api.test/items/{i}"), make_response(body=body)))
    return out


def test_yaml_recording_appends_to_the_same_file_and_loads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    writer = CassetteWriter(Cassette(path=path), path)
    recorded = interactions(6)
    writer.append(recorded[0])
    writer.flush()
    inode = path.stat().st_ino
    for interaction in recorded[1:]:
        writer.append(interaction)
        writer.flush()
    writer.close()
    assert path.stat().st_ino == inode, "later interactions must be appended, not rewritten"
    loaded = load_cassette(path)
    assert [i.response.body for i in loaded.interactions] == [i.response.body for i in recorded]
    assert [i.index for i in loaded.interactions] == list(range(6))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_json_files_and_mcp_exchanges_are_rewritten_atomically(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rec{suffix}"
    writer = CassetteWriter(Cassette(path=path), path)
    writer.append(interactions(1)[0])
    writer.flush()
    writer.append(to_interaction(Exchange("tools", "tools/call", {"name": "get_balance", "arguments": {}}, {"ok": 1})))
    writer.append(interactions(2)[1])
    writer.close()
    loaded = load_cassette(path)
    assert len(loaded.interactions) == 3
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
