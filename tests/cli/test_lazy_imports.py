"""What `hudproxy replay` loads at start: only its own command's module, and none of the heavy libraries a plain
HTTP replay never uses (the MCP SDK, FastAPI's admin app, httpx, sqlite-utils with numpy, the pydantic schema).

Checked in real processes (a fresh interpreter each), by the modules they hold, not by timing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from hudproxy.cli import COMMANDS
from hudproxy.netutil import free_port, wait_for_port

HEAVY = ["mcp", "fastapi", "httpx", "sqlite_utils", "numpy", "hudproxy.cassette.schema", "hudproxy.admin.app"]


def loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of `modules` a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()


def test_importing_the_cli_imports_no_command_module() -> None:
    modules = sorted({module for module, _function in COMMANDS.values()})
    assert loaded_after("import hudproxy.cli", modules) == []


def test_the_replay_command_module_leaves_the_heavy_libraries_unloaded() -> None:
    assert loaded_after("import hudproxy.cli.replay", HEAVY) == []


def big_cassette(path: Path, count: int = 1000) -> Path:
    """A JSON cassette past the compiled cache's threshold (2 MB), so its second open maps the compiled image."""
    body = "x" * 2500
    interactions = [
        {
            "request": {"method": "GET", "uri": f"http://127.0.0.1:9999/items/{n}", "body": None, "headers": {}},
            "response": {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": f"{n} {body}"}},
        }
        for n in range(count)
    ]
    path.write_text(json.dumps({"version": 1, "interactions": interactions}))
    return path


def serve_once(cassette: Path, env: dict[str, str], log: Path) -> str:
    """Start `hudproxy replay`, get one recorded answer, stop it; its stderr (through a file: a pipe nobody reads
    until the end would fill up with import lines and stall the server)."""
    port = free_port()
    hudproxy = shutil.which("hudproxy") or "hudproxy"
    command = [hudproxy, "replay", str(cassette), "--port", str(port), "--no-journal"]
    with log.open("w") as err, subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err) as server:
        try:
            assert wait_for_port("127.0.0.1", port, timeout=60)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
                answer = client.get("/items/501")
                assert answer.status_code == 200 and answer.text.startswith("501 ")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return log.read_text()


def test_a_replay_server_opening_a_compiled_cassette_loads_none_of_them(tmp_path: Path) -> None:
    cassette = big_cassette(tmp_path / "big.json")
    env = {**os.environ, "HUDPROXY_CACHE_DIR": str(tmp_path / "cache")}
    serve_once(cassette, env, tmp_path / "first.log")  # parses the file and writes its compiled image
    profiled = {**env, "PYTHONPROFILEIMPORTTIME": "1"}  # every import the server makes, on its stderr
    stderr = serve_once(cassette, profiled, tmp_path / "second.log")
    imported = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
    assert "hudproxy.replay.engine" in imported  # the probe sees the server's imports
    assert sorted(imported & set(HEAVY)) == []
    others = {module for module, _function in COMMANDS.values()} - {"hudproxy.cli.replay"}
    assert sorted(imported & others) == []  # no other command's module
