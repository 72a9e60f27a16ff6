"""Running hudproxy containers that are always removed, and that fail fast with their own last words.

`run_container` is the general form; `replay_container` serves one cassette and yields its base URL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from docker.client import DockerClient
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from hudproxy.containers.errors import ContainerExited, ContainerNotReady
from hudproxy.containers.images import DEFAULT_IMAGE, require_image
from hudproxy.netutil import free_port

MANAGED_LABEL = "org.hudproxy.owner"  # value: "host:pid" of the process that started the container
CASSETTES = "/cassettes"
TOKEN_ENV = "HUDPROXY_ADMIN_TOKEN"
IMAGE_UID = 10001  # the Dockerfile's USER
LOG_LINES = 20
NANOS = 1_000_000_000


def current_owner() -> str:
    """This process as MANAGED_LABEL's value (computed per call: a forked worker is an owner of its own)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunningContainer:
    """A started container; `logs`, `health` and `exec` are what a test or a caller needs to look inside."""

    container: Container
    image: str

    @property
    def name(self) -> str:
        return self.container.name

    def state(self) -> dict[str, Any]:
        """The engine's current view (Status, ExitCode, Health, ...)."""
        self.container.reload()
        return self.container.attrs["State"]

    def health(self) -> str | None:
        """`starting`, `healthy` or `unhealthy` from the image's HEALTHCHECK; None when the image has none."""
        return (self.state().get("Health") or {}).get("Status")

    def logs(self, lines: int = LOG_LINES) -> str:
        """The last `lines` lines of stdout and stderr together."""
        try:
            return self.container.logs(tail=lines).decode("utf-8", errors="replace")
        except APIError:
            return ""

    def exec(self, command: Sequence[str]) -> tuple[int, str]:
        """Run a command inside as the image's user: (exit code, output)."""
        code, output = self.container.exec_run(list(command))
        return code, output.decode("utf-8", errors="replace")


def wait_ready(
    running: RunningContainer,
    timeout: float = 60.0,
    ready: Callable[[], bool] | None = None,
    healthy: bool = False,
) -> None:
    """Return when the container is ready: `ready()` is true and, with `healthy`, Docker says healthy.

    With neither, running is enough. Raises ContainerExited as soon as the process ends (a wrong argument fails
    in a second, not after the whole timeout) and ContainerNotReady when the healthcheck says unhealthy or time
    runs out; both carry the container's last log lines.
    """
    deadline = time.monotonic() + timeout
    while True:
        state = running.state()
        if state.get("Status") in ("exited", "dead"):
            raise ContainerExited(running.name, running.image, state.get("ExitCode"), running.logs())
        health = (state.get("Health") or {}).get("Status")
        if health == "unhealthy":
            probes = (state.get("Health") or {}).get("Log") or [{}]
            raise ContainerNotReady(
                running.name, f"its healthcheck says unhealthy ({probes[-1].get('Output', '').strip()})", running.logs()
            )
        if state.get("Running") and (ready is None or ready()) and (not healthy or health == "healthy"):
            return
        if time.monotonic() > deadline:
            why = f"not ready after {timeout:g}s" + (f" (health: {health})" if healthy else "")
            raise ContainerNotReady(running.name, why, running.logs())
        time.sleep(0.2)


@contextlib.contextmanager
def run_container(
    client: DockerClient,
    image: str,
    command: Sequence[str],
    *,
    name: str | None = None,
    network_mode: str | None = "host",
    ports: Mapping[str, Any] | None = None,
    volumes: Mapping[str, Mapping[str, str]] | None = None,
    environment: Mapping[str, str] | None = None,
    health_interval: float | None = None,
    ready: Callable[[], bool] | None = None,
    healthy: bool = False,
    timeout: float = 60.0,
    stop_timeout: int = 5,
) -> Iterator[RunningContainer]:
    """Create and start a container, wait until it is ready, yield it, then stop and remove it, also on failure.

    The image must exist (ImageNotFound otherwise; nothing is pulled). `health_interval` (seconds) overrides the
    image's HEALTHCHECK interval, so a caller that waits for `healthy` need not wait 10 s for the first probe.
    Containers carry MANAGED_LABEL with this process as owner, so `remove_managed` sweeps what this process
    left and `remove_orphans` what a killed one left, without touching containers of other live processes.
    """
    require_image(client, image)
    options: dict[str, Any] = {
        "command": list(command),
        "name": name or f"hudproxy-{secrets.token_hex(4)}",
        "detach": True,
        "init": True,  # a real PID 1: signals reach hudproxy, `docker stop` is quick
        "labels": {MANAGED_LABEL: current_owner()},
        "environment": dict(environment or {}),
        "volumes": {host: dict(bind) for host, bind in (volumes or {}).items()},
    }
    if network_mode:
        options["network_mode"] = network_mode
    if ports:
        options["ports"] = dict(ports)
    if health_interval is not None:
        interval = int(health_interval * NANOS)
        options["healthcheck"] = {"interval": interval, "start_period": 30 * NANOS}
    container = client.containers.create(image, **options)
    try:
        running = RunningContainer(container, image)
        container.start()
        wait_ready(running, timeout, ready, healthy)
        yield running
    finally:
        _remove(container, stop_timeout)


def _remove(container: Container, stop_timeout: int) -> None:
    """Stop politely (a recorder flushes its cassette), then remove with its anonymous volumes."""
    with contextlib.suppress(APIError):
        container.stop(timeout=stop_timeout)
    with contextlib.suppress(NotFound):
        container.remove(force=True, v=True)


def remove_managed(client: DockerClient, owner: str | None = None) -> list[str]:
    """Remove the containers `owner` (default: this process) started that are still there; their names."""
    label = f"{MANAGED_LABEL}={owner or current_owner()}"
    return [_sweep(c) for c in client.containers.list(all=True, filters={"label": label})]


def remove_orphans(client: DockerClient) -> list[str]:
    """Remove containers whose owner was a process on this host that no longer runs (killed mid-test)."""
    host = socket.gethostname()
    orphans = []
    for container in client.containers.list(all=True, filters={"label": MANAGED_LABEL}):
        owner_host, _, pid = container.labels.get(MANAGED_LABEL, "").rpartition(":")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            orphans.append(_sweep(container))
    return orphans


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(container: Container) -> str:
    _remove(container, stop_timeout=1)
    return container.name


@dataclass
class ReplayContainer:
    """A replay server in a container: where to send requests, and the admin token its API wants."""

    base_url: str
    admin_token: str
    running: RunningContainer

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


@contextlib.contextmanager
def replay_container(
    client: DockerClient,
    cassette: Path,
    *,
    image: str = DEFAULT_IMAGE,
    port: int | None = None,
    admin_token: str | None = None,
    network_mode: str | None = "host",
    args: Sequence[str] = (),
    healthy: bool = False,
    health_interval: float | None = None,
    timeout: float = 60.0,
) -> Iterator[ReplayContainer]:
    """`hudproxy replay` on `cassette` in a container, ready when its admin health endpoint answers.

    The cassette's folder is mounted read-only at /cassettes (the image's user, uid 10001, must be able to read
    it). hudproxy listens on 0.0.0.0 with an admin token (generated unless given, passed as HUDPROXY_ADMIN_TOKEN
    so the healthcheck finds it too). With host networking the container listens on `port` (default: a free
    one) of this machine; otherwise its 8080 is published on 127.0.0.1:`port`.
    """
    cassette = cassette.resolve()
    token = admin_token or secrets.token_urlsafe(16)
    port = port or free_port()
    inside = port if network_mode == "host" else 8080
    base_url = f"http://127.0.0.1:{port}"
    command = ["replay", f"{CASSETTES}/{cassette.name}", "--host", "0.0.0.0", "--port", str(inside), *args]
    ports = None if network_mode == "host" else {f"{inside}/tcp": ("127.0.0.1", port)}

    def answers() -> bool:
        try:
            url, auth = f"{base_url}/_hudproxy/health", {"Authorization": f"Bearer {token}"}
            return httpx.get(url, headers=auth, trust_env=False).is_success  # loopback: never via a proxy
        except httpx.HTTPError:
            return False

    with (
        _explained(cassette.parent),
        run_container(
            client,
            image,
            command,
            name=f"hudproxy-replay-{secrets.token_hex(4)}",
            network_mode=network_mode,
            ports=ports,
            volumes={str(cassette.parent): {"bind": CASSETTES, "mode": "ro"}},
            environment={TOKEN_ENV: token},
            health_interval=health_interval,
            ready=answers,
            healthy=healthy,
            timeout=timeout,
        ) as running,
    ):
        yield ReplayContainer(base_url, token, running)


@contextlib.contextmanager
def _explained(folder: Path) -> Iterator[None]:
    try:
        yield
    except ContainerExited as exited:
        raise _unreadable_hint(exited, folder) from None


def _unreadable_hint(exited: ContainerExited, folder: Path) -> ContainerExited:
    """The one failure the log alone does not explain: the image's user cannot read the mounted folder."""
    if "Permission denied" not in exited.logs:
        return exited
    hint = f"the image runs as uid {IMAGE_UID}, which cannot read {folder}: `chmod o+rx` it and o+r its cassettes"
    return ContainerExited(exited.name, exited.image, exited.exit_code, exited.logs, hint)
