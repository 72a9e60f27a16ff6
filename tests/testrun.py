"""What a test run does on this machine: which tests it runs, and what it started there.

`HUDPROXY_TEST_FAST=1` is the quick local loop: tests marked `slow` (a real engine or a heavy runtime: Docker,
PostgreSQL, Ray, Chromium) are skipped. On CI (`CI=true`) every test runs, whatever HUDPROXY_TEST_FAST says.

What the run started (a PostgreSQL cluster, a Docker engine, the images it built) is stopped or removed at the
end, leaving a developer's machine as it found it.

A fixture that starts something calls `started(what, ...)`. The process that ran pytest (the only one, or the
pytest-xdist controller) calls `stop_all()` once every test is done: a worker's own teardown would be too early,
as other workers may still use the server. The record is a folder named by $HUDPROXY_TEST_STARTED, made by that
process before the workers start (they inherit the variable). What was already running before the run is never
recorded, so never stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ENV = "HUDPROXY_TEST_STARTED"
FAST_ENV = "HUDPROXY_TEST_FAST"
KEEP_IMAGES_ENV = "HUDPROXY_TEST_KEEP_IMAGES"  # 1: keep the Docker images the run built (the next run skips ~80 s)


def fast_loop(environ: dict[str, str] | None = None) -> bool:
    """HUDPROXY_TEST_FAST=1 and not on CI: CI runs every test, so a fast loop never hides a failure there."""
    env = os.environ if environ is None else environ
    return env.get(FAST_ENV, "") not in ("", "0") and env.get("CI", "").lower() not in ("true", "1")


def begin() -> bool:
    """Called by every pytest process at configure time; True for the one that owns the record (and stops)."""
    if os.environ.get(ENV):
        return False
    os.environ[ENV] = tempfile.mkdtemp(prefix="hudproxy-test-started-")
    return True


def started(
    what: str, argv: list[str] | None = None, images_before: list[str] | None = None, busy: list[str] | None = None
) -> None:
    """Record how to undo `what`: a command to run (`argv`), or remove every image not in `images_before`.
    `busy`: a command whose output, unless empty or 0, means someone else still uses it (another test run on a
    shared machine): then it is left running. The first record of a `what` wins (several xdist workers may each
    see the same start)."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    entry = {"what": what, "argv": argv, "images_before": images_before, "busy": busy, "at": time.time_ns()}
    name = re.sub(r"[^A-Za-z0-9]+", "-", what).strip("-") + ".json"
    try:
        with (Path(folder) / name).open("x") as handle:
            json.dump(entry, handle)
    except FileExistsError:
        pass


def stop_all() -> list[str]:
    """Undo everything recorded, the latest first (images before the engine that holds them); one line each."""
    folder = Path(os.environ.get(ENV, ""))
    if not os.environ.get(ENV) or not folder.is_dir():
        return []
    entries = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    lines = [_undo(entry) for entry in sorted(entries, key=lambda entry: entry["at"], reverse=True)]
    shutil.rmtree(folder, ignore_errors=True)
    return lines


def _undo(entry: dict[str, Any]) -> str:
    if entry.get("images_before") is not None:
        return _remove_new_images(entry["what"], set(entry["images_before"]))
    if entry.get("busy"):
        users = subprocess.run(entry["busy"], capture_output=True, text=True, timeout=60, check=False).stdout.strip()
        if users not in ("", "0"):
            return f"left {entry['what']} running: something else still uses it ({' '.join(users.split())})"
    result = subprocess.run(entry["argv"], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        return f"could not stop {entry['what']}: {(result.stderr or result.stdout).strip()}"
    return f"stopped {entry['what']} (this run started it)"


def docker_images() -> list[str]:
    """The ids of the engine's images (empty when no engine answers); a build's intermediate layers go with the
    image they made, so they are not listed."""
    listing = subprocess.run(["docker", "images", "-q", "--no-trunc"], capture_output=True, text=True, check=False)
    return sorted(set(listing.stdout.split())) if listing.returncode == 0 else []


def _remove_new_images(what: str, before: set[str]) -> str:
    new = [image for image in docker_images() if image not in before]
    if not new:
        return f"{what}: none to remove"
    failed = [
        image for image in new
        if subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True, check=False).returncode
    ]  # fmt: skip
    if failed:
        return f"{what}: removed {len(new) - len(failed)}, could not remove {len(failed)} ({', '.join(failed)})"
    return f"removed {what} ({len(new)} images)"
