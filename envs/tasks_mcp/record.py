"""Record the task tools' training script through hudproxy's MCP recording (a real stdio server behind the
recording proxy, a real MCP client in front): `python -m envs.tasks_mcp.record cassettes/tasks.yaml`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from hudproxy.mcp.recorder import McpRecorder
from hudproxy.mcp.serve import recording_in_thread
from hudproxy.mcp.upstream import Upstream
from hudproxy.record.recorder import Recorder

SERVER = Path(__file__).with_name("server.py")
# every tool once or twice: both pages of a list, a create, a replace, both deletes, a read of a deleted task
TRAINING: tuple[tuple[str, dict[str, Any]], ...] = (
    ("list_tasks", {}),
    ("list_tasks", {"cursor": "2"}),
    ("get_task", {"task_id": "T1"}),
    ("create_task", {"title": "walk dog"}),
    ("update_task", {"task_id": "T1", "title": "buy oat milk", "status": "done"}),
    ("delete_task", {"task_id": "T2"}),
    ("remove_task", {"task_id": "T3"}),
    ("get_task", {"task_id": "T2"}),
)


async def run_script(url: str) -> None:
    async with Client(url, cache=None) as client:
        await client.list_tools()  # the annotations the model reads
        for name, arguments in TRAINING:
            await client.call_tool(name, arguments)


def record(path: Path) -> Path:
    """A fresh cassette of the training script (the server runs as a stdio process)."""
    path.unlink(missing_ok=True)
    recorder = Recorder(path, "all")
    try:
        with recording_in_thread(McpRecorder(recorder, Upstream(command=f"{sys.executable} {SERVER}"))) as url:
            anyio.run(run_script, url)
    finally:
        recorder.close()
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record the task tools' training script into a cassette.")
    parser.add_argument("cassette", type=Path, nargs="?", default=Path("cassettes/tasks.yaml"))
    print(record(parser.parse_args(argv).cassette))


if __name__ == "__main__":
    main()
