"""Helpers for the drift tests: the real `hudproxy` CLI in a process, and recording through the real proxy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder

HUDPROXY = shutil.which("hudproxy") or "hudproxy"
ENV = {**os.environ, "COLUMNS": "200"}


def hudproxy(*args: Any, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUDPROXY, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV)


def verify_json(*args: Any) -> tuple[int, dict[str, Any]]:
    """`hudproxy verify ARGS --json`: its exit code and report."""
    done = hudproxy("verify", *args, "--json")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def record(cassette: Path, target: str, calls: Callable[[httpx.Client], None]) -> None:
    """Record what `calls` sends, through the real recording proxy in front of `target`."""
    recorder = Recorder(cassette, "all")
    with recording_proxy(recorder, target) as url, httpx.Client(base_url=url, timeout=10) as client:
        calls(client)


def by_request(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["request"]: item for item in report["interactions"]}


def changes(item: dict[str, Any]) -> dict[str, str]:
    """pointer -> kind of every body change of one interaction's report."""
    return {change["pointer"]: change["kind"] for change in item["body"]}
