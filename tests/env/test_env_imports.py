"""An environment without Python tools or MCP connections does not load the MCP SDK (~0.4 s of every eval's
start): the wire types come from `mcp_types`, the SDK loads with the first `@env.tool`/mock service or MCP client."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from hudproxy.env import Environment
env = Environment("probe")
print("mcp" in sys.modules)
@env.tool
def echo(text: str) -> str:
    return text
print("mcp" in sys.modules)
"""


def test_the_sdk_loads_with_the_first_python_tool_not_before() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == ["False", "True"]
