"""Real hudproxy CLI processes for tests: started, waited for until they listen, always stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hudproxy.netutil import wait_for_port

HUDPROXY = shutil.which("hudproxy") or "hudproxy"


def wide_environment() -> dict[str, str]:
    """The test's environment on a wide terminal (log lines are never wrapped)."""
    return {**os.environ, "COLUMNS": "200"}


@contextlib.contextmanager
def hudproxy_listening(
    argv: list[str], port: int, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 20
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`hudproxy ARGV` (which listens on `port`) and its base URL; killed at the end whatever happens."""
    process = subprocess.Popen(
        [HUDPROXY, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env if env is not None else wide_environment(), cwd=cwd,
    )  # fmt: skip
    try:
        if not wait_for_port("127.0.0.1", port, timeout=timeout):
            process.kill()
            pytest.fail(f"hudproxy {argv[0]} did not listen on {port}: {process.communicate(timeout=10)}")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
