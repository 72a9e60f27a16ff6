"""MCP recording on a disk that fills up: the agent gets an MCP error naming why (never a result that was not
kept), the stop raises, and what was recorded before is recovered from the recording log."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from hudproxy.cassette.appendlog import log_path
from hudproxy.cassette.files import load_cassette
from hudproxy.errors import CassetteWriteError
from hudproxy.mcp.upstream import Upstream
from tests.mcp.mcp_helpers import STDIO_COMMAND, recording


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root (mount -t tmpfs)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"x" * size)
    finally:
        os.close(fd)


def test_an_mcp_answer_that_cannot_be_recorded_is_an_error_naming_why(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        cassette = disk / "tools.yaml"
        seen: list[str] = []

        async def agent(url: str) -> None:
            async with Client(url, cache=None) as client:  # the handshake is recorded: the log exists
                fill(disk)
                with pytest.raises(MCPError) as refused:
                    await client.call_tool("search", {"query": "s" * 5000})
                seen.append(str(refused.value))

        with (
            pytest.raises(CassetteWriteError, match="the recording is incomplete"),
            recording(cassette, Upstream(command=STDIO_COMMAND)) as url,
        ):
            anyio.run(agent, url)
        assert "hudproxy could not record this answer" in seen[0] and "the disk is full" in seen[0]
        assert log_path(cassette).exists(), "the log keeps what the full disk kept from the cassette"
        (handshake,) = load_cassette(cassette).interactions
        assert handshake.request.method == "MCP"
