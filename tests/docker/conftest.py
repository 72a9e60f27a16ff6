"""Docker tests: a real engine, the real image, containers driven from the host with httpx.

The session fixture makes what they need with the scripts in docker/ (an engine, the base image, the hudproxy
image); each script is idempotent and caches under ~/.cache/hudproxy/docker, so only the first run on a machine
pays for apt, debootstrap and the wheelhouse. Tests that need the engine carry `@pytest.mark.docker`
(`-m "not docker"` or HUDPROXY_TEST_FAST=1 leaves them out); the rest of this folder runs anywhere.

What the run adds is taken away when it ends (tests/testrun.py): every image it built (the base image,
hudproxy:latest, environments' images; ~650 MB) and the engine, if the run started it. The download caches under
~/.cache/hudproxy/docker stay, so the next run rebuilds from them without the network; HUDPROXY_TEST_KEEP_IMAGES=1
keeps the images too.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import testrun
from docker.client import DockerClient

from hudproxy.containers import DEFAULT_IMAGE, connect, remove_managed, remove_orphans

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "docker"
SETUP_SECONDS: dict[str, float] = {}  # shown at the end of the run: cold vs warm cost at a glance


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a Docker engine and the hudproxy image (made by docker/*.sh); -m 'not docker' skips"
    )


def run_script(name: str, timeout: float) -> float:
    """Run one docker/ script; its output is shown only when it fails. Returns the seconds it took."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["bash", str(SCRIPTS / name)], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"docker/{name} did not finish within {timeout:g}s", pytrace=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        pytest.fail(f"docker/{name} failed (exit {result.returncode}):\n{tail}", pytrace=False)
    SETUP_SECONDS[name] = time.monotonic() - started
    return SETUP_SECONDS[name]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SETUP_SECONDS:
        spent = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in SETUP_SECONDS.items())
        terminalreporter.write_line(f"docker setup: {spent}")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[DockerClient]:
    """An engine with the hudproxy image on it; every container the tests started is gone at the end."""
    engine_was_running = _engine_pids()
    run_script("ensure-engine.sh", timeout=300)
    started_engine = [pid for pid in _engine_pids() if pid not in engine_was_running]
    if started_engine:  # recorded first, so undone last: the images go before the engine that holds them
        busy = ["docker", "ps", "-q"]  # ours are removed by then: a running container is someone else's
        testrun.started("the Docker engine", ["kill", "-TERM", *started_engine], busy=busy)
    if not os.environ.get(testrun.KEEP_IMAGES_ENV):
        testrun.started("the Docker images this run built", images_before=testrun.docker_images())
    run_script("build-base.sh", timeout=600)
    run_script("build-image.sh", timeout=600)
    client = connect()
    remove_orphans(client)  # left by an earlier run that was killed; other live runs' containers are theirs
    yield client
    left = remove_managed(client)
    client.close()
    assert not left, f"containers were left running: {left}"


def _engine_pids() -> list[str]:
    """The running dockerd processes' ids (none, or one)."""
    found = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False)
    return found.stdout.split()


@pytest.fixture(scope="session")
def hudproxy_image(docker_client: DockerClient) -> str:
    return DEFAULT_IMAGE
