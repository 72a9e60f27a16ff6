"""Tools from a Docker image whose command serves MCP: `env.connect_image("hudproxy-env-shop:latest")`.

One container per environment (started by `async with env`, removed when it ends), or with `per_run=True` one
per run (started at the run's first call of one of its tools, removed when the run ends). Over **stdio** the
container is `docker run -i` (the docker CLI is the MCP client's subprocess, its stdin/stdout the container's);
over **streamable HTTP** it is started with the Docker SDK on the host network and used once its port answers.
Either way it is removed by name through the SDK when done, also when the body raised or was cancelled (Ctrl-C);
it carries MANAGED_LABEL, so `remove_orphans` sweeps what a killed process left.

Each container is held by a task of its own, so any task may close it (anyio's scopes must exit in the task that
entered them, and an MCP session's run is closed by the server's lifespan task, not the request's).

The image's command decides what runs. A `hudproxy serve` command (a Dockerfile.hud's CMD) is switched to the
transport asked for (`--stdio`, or `--host 127.0.0.1 --port PORT`), so one image serves both; any other command
runs as is. Failures are one ContainerError each: no engine, no image (never pulled), a container that ends
before its MCP server answers (ContainerExited, with its last log lines), one that never answers (NotReady).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Literal

import httpx
import httpx2
from docker.client import DockerClient
from docker.errors import APIError, NotFound
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from hudproxy.containers import ContainerError, ContainerExited, ContainerNotReady, connect, require_image
from hudproxy.containers.run import MANAGED_LABEL, RunningContainer, current_owner
from hudproxy.env.run import RunContext
from hudproxy.env.server import SUBMIT
from hudproxy.env.tools import ToolError, ToolSpec, from_call_result, looks_wrapped
from hudproxy.errors import ConfigError
from hudproxy.netutil import ensure_port_free, free_port

log = logging.getLogger(__name__)
Transport = Literal["stdio", "http"]
NAME_ENV = "HUDPROXY_CONTAINER"  # every container knows its own name (for its logs, or a tool that reports it)
IMAGE_HINT = "build it with `hudproxy build ENV_FOLDER` (no registry needed) or `docker build -t {image} ...`"
DOCKER_ENV = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
CALL_TIMEOUT_S = 300.0
SETTLE_S = 5.0  # after a failed handshake: how long a stopping container may take to show as exited
STOP_S = 3


def serve_command(entrypoint: Sequence[str], cmd: Sequence[str], transport: Transport, port: int) -> list[str] | None:
    """The image's CMD switched to `transport` when it is `hudproxy serve ...`; None (run the CMD as is) otherwise.

    ["hudproxy", "serve", "/env", "--stdio"] over http → ["hudproxy", "serve", "/env", "--host", "127.0.0.1",
    "--port", "8765"]: with host networking, the container's loopback is this machine's.
    """
    full = [*entrypoint, *cmd]
    serving = any(Path(a).name == "hudproxy" and full[i + 1 : i + 2] == ["serve"] for i, a in enumerate(full))
    if not serving or not cmd:
        return None
    args, skip = [], False
    for arg in cmd:
        if skip:
            skip = False
        elif arg in ("--host", "--port"):
            skip = True
        elif arg != "--stdio" and not arg.startswith(("--host=", "--port=")):
            args.append(arg)
    return [*args, "--stdio"] if transport == "stdio" else [*args, "--host", "127.0.0.1", "--port", str(port)]


class _Copy:
    """One container and the MCP client connected to it, held open by a task of its own until `aclose`."""

    def __init__(self, name: str, serving: Callable[[], AbstractAsyncContextManager[Client]]) -> None:
        self.name = name
        self._serving = serving
        self._closing = asyncio.Event()
        self._ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> Client:
        self._task = asyncio.create_task(self._hold(), name=f"hudproxy {self.name}")
        try:
            return await asyncio.shield(self._ready)
        except BaseException:
            await self.aclose()
            raise

    @property
    def client(self) -> Client:
        return self._ready.result()

    async def _hold(self) -> None:
        try:
            async with self._serving() as client:
                self._ready.set_result(client)
                await self._closing.wait()
        except BaseException as exc:
            if self._ready.done():
                raise
            if isinstance(exc, asyncio.CancelledError):
                self._ready.cancel()
            else:
                self._ready.set_exception(exc)

    async def aclose(self) -> None:
        """Close the client, then stop and remove the container; waits for it even when the caller is cancelled."""
        self._closing.set()
        task = self._task
        if task is None:
            return
        if not self._ready.done():
            task.cancel()  # still starting: the start is abandoned, the clean-up still runs
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.warning("closing container %s: %r", self.name, task.exception())


class ImageConnector:
    """The tools of the MCP server in a Docker image, over stdio or streamable HTTP."""

    def __init__(
        self, image: str, *, transport: str = "stdio", port: int | None = 8765, env: Mapping[str, str] | None = None,
        per_run: bool = False, command: Sequence[str] | None = None, timeout: float = 60.0,
        docker_host: str | None = None,
    ) -> None:  # fmt: skip
        if transport not in ("stdio", "http"):
            raise ConfigError(f"transport {transport!r} is not one of: stdio, http.")
        self.image = image
        self.transport: Transport = "http" if transport == "http" else "stdio"
        self.port = port
        self.env = dict(env or {})
        self.per_run = per_run
        self.command = None if command is None else list(command)
        self.timeout = timeout
        self.docker_host = docker_host
        self.label = f"docker image {image}"
        self.specs: dict[str, ToolSpec] = {}
        self._docker: DockerClient | None = None
        self._image_config: tuple[list[str], list[str]] = ([], [])
        self._shared: _Copy | None = None
        self._live: dict[str, _Copy] = {}

    def names(self) -> list[str]:
        """The containers this connector runs now (shared and per-run)."""
        return sorted(self._live)

    # -- the Connector protocol ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Check the engine and the image, start a container and list its tools (per_run: then remove it)."""
        self._docker = await asyncio.to_thread(connect, self.docker_host)
        image = await asyncio.to_thread(require_image, self._docker, self.image, IMAGE_HINT)
        if self.transport == "stdio" and shutil.which("docker") is None:
            raise ContainerError("transport='stdio' runs `docker run -i`, but no docker CLI is on PATH; install it "
                                 "(apt-get install docker.io) or use transport='http'.")  # fmt: skip
        config = image.attrs.get("Config") or {}
        self._image_config = (list(config.get("Entrypoint") or []), list(config.get("Cmd") or []))
        if self.transport == "http" and self.port is not None and not self.per_run:
            self._check_port(self.port)
        first = await self._open(None if self.per_run else self.port)
        try:  # the environment calls `stop` only after a successful start: a failure here cleans up itself
            listed = await first.client.list_tools()
        except BaseException:
            await self._close(first)
            raise
        if self.per_run:
            await self._close(first)
        else:
            self._shared = first
        self.specs = {  # the server's own hudproxy_submit grades its scenarios: a control, not a tool to mount
            t.name: ToolSpec(
                t.name,
                t.description or "",
                dict(t.input_schema),
                t.output_schema,
                looks_wrapped(t.output_schema),
                self.label,
            )
            for t in listed.tools
            if t.name != SUBMIT
        }

    def tools(self) -> list[ToolSpec]:
        return list(self.specs.values())

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any:
        if self._docker is None or not (self.per_run or self._shared):
            raise ToolError(f"{self.label} is not started: use `async with env:`")
        copy = self._shared or await self._copy_for(run)
        try:
            result = await copy.client.call_tool(name, args)
        except MCPError as exc:
            raise ToolError(f"{name}: {exc}") from exc
        return from_call_result(self.specs.get(name), result)

    async def stop(self) -> None:
        """Remove every container still running: the shared one, and any a run that was never closed left."""
        self._shared = None
        await asyncio.gather(*(self._close(copy) for copy in list(self._live.values())))

    # -- containers ------------------------------------------------------------------------------------------
    async def _copy_for(self, run: RunContext) -> _Copy:
        """The run's own container, started on its first call and removed when the run closes."""
        lock = run.state.setdefault((self, "lock"), asyncio.Lock())
        async with lock:
            copy = run.state.get(self)
            if copy is None:
                copy = run.state[self] = await self._open(None)
                run.stack.push_async_callback(self._close, copy)
        return copy

    async def _open(self, port: int | None) -> _Copy:
        stem = "".join(c if c.isalnum() else "-" for c in self.image.rsplit("/", 1)[-1].split(":")[0])
        name = f"hudproxy-{stem.removeprefix('hudproxy-')}-{secrets.token_hex(4)}"
        copy = self._live[name] = _Copy(name, functools.partial(self._serving, name, port or free_port()))
        try:
            await copy.open()
        except BaseException:
            self._live.pop(name, None)
            raise
        return copy

    async def _close(self, copy: _Copy) -> None:
        try:
            await copy.aclose()
        finally:
            self._live.pop(copy.name, None)

    def _command(self, port: int) -> list[str] | None:
        if self.command is not None:  # given: `{port}` is the container's port; [] keeps the image's CMD
            return [arg.replace("{port}", str(port)) for arg in self.command] or None
        return serve_command(*self._image_config, self.transport, port)

    @contextlib.asynccontextmanager
    async def _serving(self, name: str, port: int) -> AsyncIterator[Client]:
        """Start the container, connect, yield the client; remove the container however this ends."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.transport == "stdio":
                    client = Client(self._stdio(name, port), cache=None, read_timeout_seconds=CALL_TIMEOUT_S)
                else:
                    await asyncio.to_thread(self._run_detached, name, port)
                    url = f"http://127.0.0.1:{port}/mcp"
                    await self._listening(name, url)
                    timeout = httpx2.Timeout(30.0, read=CALL_TIMEOUT_S)
                    http = await stack.enter_async_context(httpx2.AsyncClient(timeout=timeout, trust_env=False))
                    client = Client(streamable_http_client(url, http_client=http), cache=None)
                await self._handshake(client, name)
                stack.push_async_exit(client)
                yield client
        finally:
            await self._discard(name)

    def _stdio(self, name: str, port: int) -> StdioServerParameters:
        """`docker run -i` as the MCP server's command; values of `env` reach it through the CLI's environment,
        never its command line (which `ps` shows)."""
        args = ["run", "-i", "--init", "--pull", "never", "--network", "host", "--name", name,
                "--label", f"{MANAGED_LABEL}={current_owner()}"]  # fmt: skip
        for key in self.env:
            args += ["-e", key]
        args += ["-e", f"{NAME_ENV}={name}", self.image, *(self._command(port) or [])]
        inherited = {k: v for k in DOCKER_ENV if (v := os.environ.get(k))}
        if self.docker_host:
            inherited["DOCKER_HOST"] = self.docker_host
        docker = shutil.which("docker") or "docker"
        return StdioServerParameters(command=docker, args=args, env={**inherited, **self.env})

    @staticmethod
    def _check_port(port: int) -> None:
        """The container shares this machine's network: a port in use would make the wait find the wrong server."""
        try:
            ensure_port_free("127.0.0.1", port)
        except ConfigError:
            raise ConfigError(f"port {port} is in use on this machine, which the container's network is; pass "
                              "another port, or port=None for a free one.") from None  # fmt: skip

    def _run_detached(self, name: str, port: int) -> None:
        assert self._docker is not None
        try:
            self._docker.containers.run(
                self.image, self._command(port), name=name, detach=True, init=True, network_mode="host",
                labels={MANAGED_LABEL: current_owner()}, environment={**self.env, NAME_ENV: name},
            )  # fmt: skip
        except APIError as exc:
            raise ContainerError(f"could not start a container of {self.image}: {exc.explanation or exc}") from None

    async def _listening(self, name: str, url: str) -> None:
        """Wait until something answers at `url`; ContainerExited as soon as the container ends."""
        assert self._docker is not None
        running = RunningContainer(await asyncio.to_thread(self._docker.containers.get, name), self.image)
        deadline = time.monotonic() + self.timeout
        async with httpx.AsyncClient(trust_env=False, timeout=2.0) as probe:
            while True:
                state = await asyncio.to_thread(running.state)
                if state.get("Status") in ("exited", "dead"):
                    logs = await asyncio.to_thread(running.logs)
                    raise ContainerExited(name, self.image, state.get("ExitCode"), logs)
                with contextlib.suppress(httpx.TransportError):
                    await probe.get(url)
                    return
                if time.monotonic() > deadline:
                    why = f"nothing answers at {url} after {self.timeout:g}s (does its command listen there?)"
                    raise ContainerNotReady(name, why, await asyncio.to_thread(running.logs))
                await asyncio.sleep(0.1)

    async def _handshake(self, client: Client, name: str) -> None:
        """Connect the MCP client; past the timeout the container is killed, which ends a handshake that hangs."""
        timed_out: list[str] = []

        async def watchdog() -> None:
            await asyncio.sleep(self.timeout)
            timed_out.append(await asyncio.to_thread(self._logs, name))
            await asyncio.to_thread(self._kill, name)

        dog = asyncio.create_task(watchdog())
        try:
            await client.__aenter__()
        except Exception as exc:
            raise await self._failure(name, exc, timed_out) from None
        finally:
            dog.cancel()

    async def _failure(self, name: str, exc: Exception, timed_out: list[str]) -> ContainerError:
        """One error that says what happened to the container, with its last log lines."""
        if timed_out:
            why = f"its MCP server did not answer over {self.transport} within {self.timeout:g}s"
            return ContainerNotReady(name, why, timed_out[0])
        settled = await asyncio.to_thread(self._settled, name)
        if settled is None:
            return ContainerError(f"no container of {self.image} started ({exc}); the docker CLI's message is above")
        state, logs = settled
        if state.get("Status") in ("exited", "dead"):
            return ContainerExited(name, self.image, state.get("ExitCode"), logs)
        return ContainerNotReady(name, f"its MCP server did not answer over {self.transport} ({exc!r})", logs)

    def _settled(self, name: str) -> tuple[dict[str, Any], str] | None:
        """(state, last log lines) once the container stops running (or after SETTLE_S); None if there is none."""
        assert self._docker is not None
        deadline = time.monotonic() + SETTLE_S
        try:
            running = RunningContainer(self._docker.containers.get(name), self.image)
            while running.state().get("Status") in ("created", "running") and time.monotonic() < deadline:
                time.sleep(0.05)
            return running.state(), running.logs()
        except NotFound:
            return None

    def _logs(self, name: str) -> str:
        assert self._docker is not None
        try:
            return RunningContainer(self._docker.containers.get(name), self.image).logs()
        except NotFound:
            return ""

    def _kill(self, name: str) -> None:
        assert self._docker is not None
        with contextlib.suppress(APIError):  # NotFound is an APIError: already gone is fine
            self._docker.containers.get(name).kill()

    def _remove_now(self, name: str, stop_timeout: int = STOP_S) -> None:
        """Stop (politely: the server's env.stop runs), then remove with its anonymous volumes; gone is fine."""
        assert self._docker is not None
        with contextlib.suppress(NotFound):
            container = self._docker.containers.get(name)
            with contextlib.suppress(APIError):
                container.stop(timeout=stop_timeout)
            try:
                container.remove(force=True, v=True)
            except APIError as exc:  # 409: a removal is already under way (`docker run --rm`, a sweep)
                if exc.status_code != 409:
                    raise

    async def _discard(self, name: str) -> None:
        try:
            await asyncio.to_thread(self._remove_now, name)
        except asyncio.CancelledError:
            self._remove_now(name, 0)  # cancelled (Ctrl-C): block a moment rather than leave the container behind
            raise
