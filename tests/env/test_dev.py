"""`hudproxy dev`: an edited tool file is picked up without restarting; a syntax error keeps the last good one."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from env_peers import free_port, hudproxy_process, wait_for_port
from mcp import Client

pytestmark = pytest.mark.anyio

ENV_PY = """
from pathlib import Path

from hudproxy.env import Environment

from .tools import greetings

LOG = Path(__file__).with_name("service.log")
env = Environment("devdemo")
greetings.register(env)


@env.setup
async def service():
    with LOG.open("a") as log:  # stands for a service: started once, must survive reloads
        log.write("started\\n")
    yield
    with LOG.open("a") as log:
        log.write("stopped\\n")


@env.tool
def service_log() -> str:
    return LOG.read_text().strip()
"""

TOOLS_V1 = """
def register(env):
    @env.tool
    def greet(name: str) -> str:
        return f"hello {name}"
"""

TOOLS_V2 = """
def register(env):
    @env.tool
    def greet(name: str) -> str:
        return f"bonjour {name}"

    @env.tool
    def wave() -> str:
        return "o/"
"""


def make_env(root: Path) -> Path:
    folder = root / "devdemo"
    (folder / "tools").mkdir(parents=True)
    (folder / "env.py").write_text(ENV_PY)
    (folder / "tools" / "__init__.py").write_text("")
    (folder / "tools" / "greetings.py").write_text(TOOLS_V1)
    return folder


class StderrLines:
    """Collects the server's stderr on a thread so the test can wait for a line."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True).start()

    def wait_for(self, needle: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {needle!r} in stderr: {''.join(self.lines)}"
            time.sleep(0.05)


async def eventually(check: Callable[[], object], timeout: float = 20.0) -> None:
    import anyio

    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():  # type: ignore[misc]
                return
        except AssertionError:
            pass
        assert time.monotonic() < deadline, "condition not met in time"
        await anyio.sleep(0.1)


async def test_dev_reloads_tools_and_survives_a_syntax_error(tmp_path: Path) -> None:
    folder = make_env(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with hudproxy_process("dev", str(folder), "-w", "tools", "--port", str(port)) as proc:
        wait_for_port(port, proc)
        stderr = StderrLines(proc.stderr)

        async def text(name: str, args: dict[str, str] | None = None) -> str:
            async with Client(url, cache=None) as client:
                result = await client.call_tool(name, args or {})
            return result.content[0].text  # type: ignore[union-attr]

        async def tool_names() -> set[str]:
            async with Client(url, cache=None) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert await text("greet", {"name": "ada"}) == "hello ada"
        (folder / "tools" / "greetings.py").write_text(TOOLS_V2)
        await eventually(lambda: _equals(text("greet", {"name": "ada"}), "bonjour ada"))
        assert "wave" in await tool_names()
        assert await text("service_log") == "started"  # the setup ran once and was not stopped by the reload

        (folder / "tools" / "greetings.py").write_text(TOOLS_V2.replace("def wave", "def wave(:"))
        stderr.wait_for("reload failed; still serving the last good version")
        stderr.wait_for("SyntaxError")
        assert await text("greet", {"name": "ada"}) == "bonjour ada"
        assert await text("wave") == "o/"

        (folder / "tools" / "greetings.py").write_text(TOOLS_V1)
        await eventually(lambda: _equals(text("greet", {"name": "ada"}), "hello ada"))
        assert "wave" not in await tool_names()
        assert proc.poll() is None


async def _equals(value, expected: str) -> bool:
    return (await value) == expected


def test_dev_is_documented() -> None:
    assert shutil.which("python")  # the commands below run through the CLI's own help
    from typer.testing import CliRunner

    from hudproxy.cli import app

    for command in ("serve", "dev"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example: hudproxy" in result.output
