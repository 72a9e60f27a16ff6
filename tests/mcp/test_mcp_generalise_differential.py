"""Differential check of `--generalise` for MCP tools (seeded, small): the task tools' training script recorded
through hudproxy's MCP recording, then random tool-call walks nobody recorded, each against a fresh live server
and a fresh session of the generalising replay (and of plain replay beside it), over real MCP clients."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from envs.tasks_mcp.record import record
from envs.tasks_mcp.walks import differential
from hudproxy.mcp.http import attach_mcp
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

WALKS, STEPS, SEED = 8, 12, 16


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(tmp_path_factory.mktemp("tasks") / "tasks.yaml")


def test_random_tool_walks_agree_with_the_live_server(cassette: Path) -> None:
    general = create_replay_app(cassette, ReplayOptions(generalise=True))
    plain = create_replay_app(cassette)
    assert attach_mcp(general) is not None and attach_mcp(plain) is not None
    with serve_in_thread(general) as general_url, serve_in_thread(plain) as plain_url:
        found = anyio.run(differential, {"generalise": general_url, "plain": plain_url}, WALKS, STEPS, SEED)
    assert found["generalise"] >= 0.95, (found["generalise_by_kind"], found["disagreements"][:5])
    assert found["plain"] < found["generalise"]
    assert set(found["generalise_by_kind"]) >= {"create", "read", "update", "delete", "list", "read-missing"}
