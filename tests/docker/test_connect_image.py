"""`env.connect_image` on a real engine: tools of an env's image over stdio and HTTP, journaled like any tool,
containers gone when the env (or the run) ends however it ends, and one clear error for each way it can fail."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from docker.client import DockerClient

from hudproxy.containers import ContainerExited, ContainerNotReady, ImageNotFound
from hudproxy.env import Environment, Final, ScriptedAgent, ToolCall
from hudproxy.env.image import ImageConnector, serve_command
from hudproxy.env.image_build import build_env_image

pytestmark = [pytest.mark.docker, pytest.mark.anyio, pytest.mark.timeout(900)]  # a cold machine builds first

ROOT = Path(__file__).resolve().parents[2]
TRANSPORTS = ["stdio", "http"]
WELCOME = "hudproxy environments are MCP servers and clients in one."
PROBE_ENV = '''
    """Tools that tell which container answers, and hold it long enough for runs to overlap."""
    import asyncio
    import os

    from hudproxy.env import Environment

    env = Environment("probe")


    @env.tool
    async def whoami() -> str:
        """The name of the container this server runs in."""
        return os.environ["HUDPROXY_CONTAINER"]


    @env.tool
    async def getenv(name: str) -> str:
        """A variable of the container's environment."""
        return os.environ.get(name, "")


    @env.tool
    async def hold(seconds: float) -> str:
        """Wait, then answer."""
        await asyncio.sleep(seconds)
        return "held"
'''


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def minimal_image(docker_client: DockerClient) -> str:
    """envs/minimal as `hudproxy build` makes it (test_build.py runs the command itself)."""
    return build_env_image(ROOT / "envs/minimal", client=docker_client)


@pytest.fixture(scope="module")
def probe_image(docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "env.py").write_text(textwrap.dedent(PROBE_ENV))
    (folder / "Dockerfile.hud").write_text((ROOT / "envs/minimal/Dockerfile.hud").read_text())
    return build_env_image(folder, tag="hudproxy-test-probe:latest", client=docker_client)


@pytest.fixture(scope="module")
def failing_images(docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An image whose command exits 1 at once, and one whose command never speaks MCP."""
    images = {}
    for kind, script in [("exits", "echo 'fatal: no config at /etc/app.toml' >&2; exit 1"), ("sleeps", "sleep 600")]:
        folder = tmp_path_factory.mktemp(kind)
        (folder / "Dockerfile.hud").write_text(f'FROM hudproxy:latest\nENTRYPOINT ["sh", "-c"]\nCMD ["{script}"]\n')
        images[kind] = build_env_image(folder, tag=f"hudproxy-test-{kind}:latest", client=docker_client)
    return images


def count_words_scenario(env: Environment) -> None:
    @env.scenario("count")
    async def count(text: str):
        answer = yield f"How many words are in {text!r}?"
        yield 1.0 if answer == str(len(text.split())) else 0.0


def gone(client: DockerClient, names: list[str]) -> bool:
    return all(not client.containers.list(all=True, filters={"name": f"^/{name}$"}) for name in names)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tools_are_listed_called_and_journaled_then_the_container_is_removed(
    docker_client: DockerClient, minimal_image: str, transport: str
):
    env = Environment("outer")
    connector = env.connect_image(minimal_image, transport=transport, port=None)
    count_words_scenario(env)
    async with env:
        assert {spec.name for spec in env.tool_specs()} == {"read_note", "count_words"}  # not its hudproxy_submit
        assert env.spec("count_words").source == f"docker image {minimal_image}"  # type: ignore[union-attr]
        (name,) = connector.names()
        assert docker_client.containers.get(name).status == "running"
        agent = ScriptedAgent([ToolCall("read_note", {"title": "welcome"}), ToolCall("count_words", {"text": WELCOME}),
                               Final("9")])  # fmt: skip
        run = await env.run("count", agent, text=WELCOME)
        assert run.reward == 1.0, run.error
        assert [call.path for call in run.calls()] == ["/tools/call/read_note", "/tools/call/count_words"]
        assert run.calls(tool="count_words")[0].json == {"text": WELCOME}
        assert run.calls(tool="count_words")[0].response_body == "9"
        assert (await env.call_tool("read_note", title="welcome"))["text"] == WELCOME
    assert connector.names() == []
    assert gone(docker_client, [name])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_container_is_removed_when_the_body_raises(
    docker_client: DockerClient, minimal_image: str, transport: str
):
    env = Environment("outer")
    connector = env.connect_image(minimal_image, transport=transport, port=None)
    with pytest.raises(RuntimeError, match="the test failed here"):
        async with env:
            names = connector.names()
            raise RuntimeError("the test failed here")
    assert len(names) == 1
    assert gone(docker_client, names)


CTRL_C_SCRIPT = """
import asyncio, sys
from hudproxy.env import Environment

async def main() -> None:
    env = Environment("outer")
    connector = env.connect_image(sys.argv[1], transport=sys.argv[2], port=None)
    async with env:
        print(connector.names()[0], flush=True)
        await asyncio.sleep(120)

try:
    asyncio.run(main())
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ctrl_c_removes_the_container(docker_client: DockerClient, minimal_image: str, transport: str):
    """SIGINT to a program inside `async with env`: asyncio cancels it, and the container still goes."""
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT, minimal_image, transport], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        name = process.stdout.readline().strip()
        assert name.startswith("hudproxy-env-minimal-"), name
        assert docker_client.containers.get(name).status == "running"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
    assert gone(docker_client, [name])


async def test_cancelled_start_leaves_no_container(docker_client: DockerClient, failing_images: dict[str, str]):
    """Cancelled while waiting for an MCP server that never answers: the half-started container goes too."""
    env = Environment("outer")
    connector = env.connect_image(failing_images["sleeps"], timeout=60)
    task = asyncio.create_task(env.start())
    for _ in range(100):
        if connector.names() and docker_client.containers.list(filters={"name": connector.names()[0]}):
            break
        await asyncio.sleep(0.1)
    names = connector.names()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert names and gone(docker_client, names)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_per_run_gives_each_concurrent_run_its_own_container(
    docker_client: DockerClient, probe_image: str, transport: str
):
    env = Environment("outer")
    connector = env.connect_image(probe_image, transport=transport, per_run=True)
    busiest: list[str] = []

    @env.scenario("where")
    async def where():
        yield "Where do you run?"
        yield 1.0

    async def watch() -> None:
        while True:
            busiest[:] = max(busiest, connector.names(), key=len)
            await asyncio.sleep(0.05)

    async with env:
        assert connector.names() == []  # the container that listed the tools is gone; runs start their own
        agent = ScriptedAgent([ToolCall("whoami"), ToolCall("hold", {"seconds": 1.5}), Final("here")])
        watcher = asyncio.create_task(watch())
        first, second = await asyncio.gather(env.run("where", agent), env.run("where", agent))
        watcher.cancel()
        assert connector.names() == []  # each run removed its own at its end
    answers = {run.calls(tool="whoami")[0].response_body for run in (first, second)}
    assert len(busiest) == 2
    assert answers == set(busiest)  # two runs, two containers, each run's calls in its own
    assert gone(docker_client, busiest)


async def test_missing_image_is_one_clear_error(docker_client: DockerClient):
    env = Environment("outer")
    env.connect_image("hudproxy-test-no-such-image:v1")
    with pytest.raises(ImageNotFound, match=r"'hudproxy-test-no-such-image:v1' is not on this engine; build it with"):
        async with env:
            pass  # pragma: no cover - never started


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_container_that_exits_early_is_one_error_with_its_last_log_lines(
    docker_client: DockerClient, failing_images: dict[str, str], transport: str
):
    env = Environment("outer")
    env.connect_image(failing_images["exits"], transport=transport, port=None)
    with pytest.raises(ContainerExited) as failure:
        async with env:
            pass  # pragma: no cover - never ready
    assert failure.value.exit_code == 1
    assert "exited with code 1 before it was ready" in str(failure.value)
    assert "  | fatal: no config at /etc/app.toml" in str(failure.value)
    assert gone(docker_client, [failure.value.name])


async def test_server_that_never_answers_is_not_ready_after_the_timeout(
    docker_client: DockerClient, failing_images: dict[str, str]
):
    env = Environment("outer")
    env.connect_image(failing_images["sleeps"], timeout=2)
    with pytest.raises(ContainerNotReady, match="did not answer over stdio within 2s") as failure:
        async with env:
            pass  # pragma: no cover - never ready
    assert gone(docker_client, [failure.value.name])


async def test_env_values_reach_the_container_but_not_dockers_command_line(
    docker_client: DockerClient, probe_image: str
):
    env = Environment("outer")
    connector = ImageConnector(probe_image, env={"SHOP_TOKEN": "s3cret"})
    env.connect(connector)
    async with env:
        assert await env.call_tool("getenv", name="SHOP_TOKEN") == "s3cret"
        assert await env.call_tool("whoami") == connector.names()[0]
        (name,) = connector.names()
        assert "s3cret" not in " ".join(docker_client.containers.get(name).attrs["Args"])


@pytest.mark.parametrize(
    ("entrypoint", "cmd", "transport", "expected"),
    [
        pytest.param(["hudproxy"], ["serve", "/env", "--stdio"], "stdio", ["serve", "/env", "--stdio"], id="stdio"),
        pytest.param(
            ["hudproxy"], ["serve", "/env", "--stdio"], "http",
            ["serve", "/env", "--host", "127.0.0.1", "--port", "9001"], id="stdio-image-over-http",
        ),
        pytest.param(
            [], ["hudproxy", "serve", "/env", "--host=0.0.0.0", "--port", "8765"], "stdio",
            ["hudproxy", "serve", "/env", "--stdio"], id="http-image-over-stdio",
        ),
        pytest.param(["sh", "-c"], ["exit 1"], "stdio", None, id="not-hudproxy-runs-as-is"),
        pytest.param(["python"], ["server.py", "--port", "1"], "http", None, id="other-server-runs-as-is"),
    ],
)  # fmt: skip
def test_serve_command_switches_a_hudproxy_serve_image_to_the_transport(
    entrypoint: list[str], cmd: list[str], transport: str, expected: list[str] | None
):
    assert serve_command(entrypoint, cmd, transport, 9001) == expected  # type: ignore[arg-type]


def test_docker_host_and_env_reach_the_cli_through_its_environment(monkeypatch: pytest.MonkeyPatch):
    """The docker CLI (stdio) talks to the engine the SDK talks to; `env=` values never go on its command line."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    params = ImageConnector("img:1", env={"TOKEN": "s3cret"})._stdio("c1", 1)
    assert params.env == {"DOCKER_HOST": "unix:///run/other.sock", "TOKEN": "s3cret"}
    assert params.args[-1] == "img:1" and "TOKEN" in params.args and "s3cret" not in " ".join(params.args)
    assert os.path.basename(params.command) == "docker"
