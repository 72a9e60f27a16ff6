"""`hudproxy build` on a real engine: an env folder's Dockerfile.hud as an image, the log streamed, one clear error
for each failure; and `hudproxy dev` inside that image, reloading edits made on the host."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from docker.client import DockerClient
from mcp import Client

from hudproxy.env.image_build import dev_command, env_image_tag
from hudproxy.netutil import free_port, wait_for_port

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]  # a cold machine builds the base images first

ROOT = Path(__file__).resolve().parents[2]
HUDPROXY = shutil.which("hudproxy") or "hudproxy"
CLI_ENV = {**os.environ, "COLUMNS": "200"}


def hudproxy(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUDPROXY, *args], capture_output=True, text=True, timeout=timeout, env=CLI_ENV, cwd=ROOT)


def env_folder(parent: Path, dockerfile: str, env_py: str | None = None) -> Path:
    folder = parent / "myenv"
    folder.mkdir()
    (folder / "Dockerfile.hud").write_text(dockerfile)
    if env_py is not None:
        (folder / "env.py").write_text(env_py)
    return folder


def test_build_makes_the_env_image_and_streams_the_log(docker_client: DockerClient):
    result = hudproxy("build", "envs/minimal")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hudproxy-env-minimal:latest\n"  # the tag alone on stdout, for scripts
    assert "Step 1/" in result.stderr and "Successfully tagged hudproxy-env-minimal:latest" in result.stderr
    config = docker_client.images.get("hudproxy-env-minimal:latest").attrs["Config"]
    assert (config["Entrypoint"], config["Cmd"]) == (["hudproxy"], ["serve", "/env", "--stdio"])
    listing = docker_client.containers.run("hudproxy-env-minimal:latest", entrypoint=["ls", "-A", "/env"], remove=True)
    assert sorted(listing.decode().split()) == ["Dockerfile.hud", "env.py", "local_test.py"]  # no __pycache__


def test_build_takes_a_tag_and_a_base_image(docker_client: DockerClient, tmp_path: Path):
    folder = env_folder(tmp_path, "ARG BASE_IMAGE=nothing:here\nFROM ${BASE_IMAGE}\nLABEL org.test.built=yes\n")
    result = hudproxy("build", str(folder), "--tag", "hudproxy-test-tagged:v2", "--base-image", "hudproxy:latest")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hudproxy-test-tagged:v2"
    assert docker_client.images.get("hudproxy-test-tagged:v2").labels["org.test.built"] == "yes"


def test_default_tag_comes_from_the_folder_name():
    assert env_image_tag("envs/shop") == "hudproxy-env-shop:latest"
    assert env_image_tag("/x/My Env!") == "hudproxy-env-my-env:latest"


def assert_one_error(result: subprocess.CompletedProcess[str], *fragments: str) -> list[str]:
    """Exit 2 and one `hudproxy: ...` error (after any build log streamed before it); its lines are returned."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("hudproxy: ")]
    assert len(starts) == 1, lines
    error = lines[starts[0] :]
    for fragment in fragments:
        assert fragment in "\n".join(error)
    return error


def test_missing_dockerfile_is_one_line(tmp_path: Path):
    lines = assert_one_error(hudproxy("build", str(tmp_path)), "no Dockerfile.hud here")
    assert len(lines) == 1


def test_missing_base_image_is_one_error_and_pulls_nothing(tmp_path: Path):
    folder = env_folder(tmp_path, "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    lines = assert_one_error(
        hudproxy("build", str(folder), "--base-image", "hudproxy-test-no-base:1"),
        "'hudproxy-test-no-base:1' is not on this engine; build or load it first (nothing is pulled)",
    )
    assert len(lines) == 1


def test_failed_build_is_one_error_ending_with_the_log(docker_client: DockerClient, tmp_path: Path):
    folder = env_folder(tmp_path, 'FROM hudproxy:latest\nRUN ["sh", "-c", "echo installing the widget; exit 3"]\n')
    lines = assert_one_error(
        hudproxy("build", str(folder)),
        "building 'hudproxy-env-myenv:latest' failed: The command 'sh -c echo installing the widget; exit 3' "
        "returned a non-zero code: 3",
        "  | installing the widget",
    )
    assert lines[-1].startswith("  | ")


RELOADED_ENV = '''
from hudproxy.env import Environment

env = Environment("dev")


@env.tool
async def ping() -> str:
    """Answer."""
    return "pong"
'''
ADDED_TOOL = '''

@env.tool
async def added() -> int:
    """New."""
    return 1
'''


def test_dev_runs_in_the_image_and_reloads_host_edits(docker_client: DockerClient, tmp_path: Path):
    """`dev_in_image` (what `hudproxy dev --image` runs): the env's folder mounted at /env, reloaded on save."""
    folder = env_folder(tmp_path, "", RELOADED_ENV)
    folder.chmod(0o755)  # the image's user (uid 10001) reads the mounted folder
    port = free_port()
    script = "import sys; from hudproxy.env.image_build import dev_in_image as d; sys.exit(d(sys.argv[1], sys.argv[2], port=int(sys.argv[3])))"  # noqa: E501
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(folder), "hudproxy:latest", str(port)], cwd=ROOT, start_new_session=True
    )
    try:
        assert wait_for_port("127.0.0.1", port, timeout=60), "hudproxy dev did not listen"
        assert anyio.run(tool_names, port) == {"ping"}
        (folder / "env.py").write_text(RELOADED_ENV + ADDED_TOOL)
        deadline = time.monotonic() + 20
        while anyio.run(tool_names, port) != {"ping", "added"}:
            assert time.monotonic() < deadline, "the edit was not reloaded"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole foreground group
        assert process.wait(timeout=30) in (0, 130)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert not docker_client.containers.list(all=True, filters={"ancestor": "hudproxy:latest", "name": "hudproxy-dev-"})


async def tool_names(port: int) -> set[str]:
    async with Client(f"http://127.0.0.1:{port}/mcp", cache=None) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


def test_dev_command_mounts_the_folder_read_only_on_the_host_network(tmp_path: Path):
    folder = env_folder(tmp_path, "", RELOADED_ENV)
    argv = dev_command(folder, "hudproxy-env-myenv:latest", port=9001, watch=["scenarios"], name="c1")
    assert argv[:2] == ["docker", "run"]
    assert {"--rm", "--init", "--network", "host", "--pull", "never"} <= set(argv)
    assert argv[argv.index("-v") + 1] == f"{folder}:/env:ro"
    assert argv[argv.index("--entrypoint") + 1] == "hudproxy"
    assert argv[argv.index("hudproxy-env-myenv:latest") :] == [
        "hudproxy-env-myenv:latest", "dev", "/env", "--host", "127.0.0.1", "--port", "9001", "-w", "scenarios",
    ]  # fmt: skip
