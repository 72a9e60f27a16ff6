"""The image on a real engine: what it is built as, what a container of it serves, and how it fails."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from docker.client import DockerClient
from docker.errors import NotFound
from docker.utils.build import exclude_paths

from hudproxy.cassette.files import save_cassette
from hudproxy.containers import (
    LOCAL_BASE_IMAGE,
    MANAGED_LABEL,
    ContainerExited,
    ImageNotFound,
    build_image,
    remove_orphans,
    replay_container,
    run_container,
)
from hudproxy.containers.run import current_owner
from hudproxy.netutil import free_port
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

# Setup builds everything on a cold machine (apt, debootstrap, wheels, image: about 4 minutes), inside the
# first test's time limit.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
ORDER = {"id": "A1", "status": "pending", "items": [{"sku": "SKU-100", "qty": 2}]}


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """A two-interaction cassette in a folder the image's user (uid 10001) can read: pytest's are 0700."""
    folder = tmp_path / "cassettes"
    folder.mkdir()
    folder.chmod(0o755)  # mounted as /cassettes: only the mount's own mode matters inside
    interactions = [
        make_interaction(make_request("GET", "http://shop.test/orders/A1"), make_response(200, json=ORDER)),
        make_interaction(
            make_request("POST", "http://shop.test/orders", json={"sku": "SKU-100"}),
            make_response(201, json={"id": "A2"}),
        ),
    ]
    return save_cassette(make_cassette(interactions), folder / "shop.yaml")


def test_build_helper_reuses_the_layer_cache(docker_client: DockerClient, hudproxy_image: str):
    """build_image (the SDK path) over the context build-image.sh prepared: built twice, the second build is all
    cache and gives the same image, configured as the script's. (When the work tree is being edited meanwhile,
    the ids legitimately differ: that case is skipped, never passed.)"""
    tag = f"hudproxy:sdk-test-{secrets.token_hex(3)}"
    before = _context_digest()
    first = build_image(docker_client, ROOT, tag, base_image=LOCAL_BASE_IMAGE, wheelhouse="docker/wheels")
    try:
        second = build_image(docker_client, ROOT, tag, base_image=LOCAL_BASE_IMAGE, wheelhouse="docker/wheels")
        if _context_digest() != before:
            pytest.skip("the work tree changed during the builds")
        assert second.id == first.id
        script_config = docker_client.images.get(hudproxy_image).attrs["Config"]
        for key in ("Entrypoint", "Cmd", "User", "WorkingDir", "Healthcheck", "ExposedPorts", "Env"):
            assert first.attrs["Config"][key] == script_config[key], key
    finally:
        docker_client.images.remove(tag)


def _context_digest() -> str:
    """A hash of the build context exactly as the engine receives it (.dockerignore applied)."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    digest = hashlib.sha256()
    for path in sorted(exclude_paths(str(ROOT), [p for p in patterns if p and not p.startswith("#")])):
        file = ROOT / path
        if file.is_file():
            digest.update(path.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def test_image_runs_hudproxy_as_a_non_root_user_with_a_healthcheck(docker_client: DockerClient, hudproxy_image: str):
    config = docker_client.images.get(hudproxy_image).attrs["Config"]
    assert config["Entrypoint"] == ["hudproxy"]
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "-m", "hudproxy.containers.healthcheck"]


def test_replay_container_serves_recorded_answers_and_is_removed(
    docker_client: DockerClient, hudproxy_image: str, cassette: Path
):
    with replay_container(docker_client, cassette, image=hudproxy_image, healthy=True, health_interval=1) as replay:
        name = replay.running.name
        recorded = httpx.get(f"{replay.base_url}/orders/A1")
        assert recorded.status_code == 200
        assert recorded.json() == ORDER
        created = httpx.post(f"{replay.base_url}/orders", json={"sku": "SKU-100"})
        assert (created.status_code, created.json()) == (201, {"id": "A2"})

        unknown = httpx.get(f"{replay.base_url}/orders/A99")
        assert unknown.status_code == 501
        assert unknown.headers["x-hudproxy-unmatched"] == "1"

        assert replay.running.health() == "healthy"
        code, uid = replay.running.exec(["id", "-u"])
        assert (code, uid.strip()) == (0, "10001")
        health = httpx.get(f"{replay.base_url}/_hudproxy/health", headers=replay.admin_headers())
        assert health.json()["interactions"] == 2
        assert httpx.get(f"{replay.base_url}/_hudproxy/health").status_code == 401  # off loopback: token needed
    with pytest.raises(NotFound):
        docker_client.containers.get(name)


def test_documented_docker_run_form_is_healthy_with_the_token_on_the_command_line(
    docker_client: DockerClient, hudproxy_image: str, cassette: Path
):
    """`docker run IMAGE replay /cassettes/shop.yaml --host 0.0.0.0 --port P --admin-token T`: the healthcheck
    finds the port and the token in the command line, with no environment."""
    port = free_port()
    command = ["replay", "/cassettes/shop.yaml", "--host", "0.0.0.0", "--port", str(port), "--admin-token", "T"]
    mounts = {str(cassette.parent): {"bind": "/cassettes", "mode": "ro"}}
    with run_container(
        docker_client, hudproxy_image, command, volumes=mounts, health_interval=1, healthy=True
    ) as running:
        assert httpx.get(f"http://127.0.0.1:{port}/orders/A1").json() == ORDER
        probes = running.state()["Health"]["Log"]
        assert probes[-1]["ExitCode"] == 0
        assert f"GET http://127.0.0.1:{port}/_hudproxy/health -> 200" in probes[-1]["Output"]


def test_the_bundled_examples_are_in_the_image(docker_client: DockerClient, hudproxy_image: str):
    """`docker run IMAGE demo` records, replays and evals the example shop as from a clone, and the example
    cassette is at /cassettes/shop.yaml."""
    out = docker_client.containers.run(
        hudproxy_image, ["demo", "--runs", "20"], network_mode="host", remove=True, environment={"COLUMNS": "160"}
    ).decode()
    assert "every replayed answer equals the recorded one" in out
    assert "done: 20/20 runs" in out and "mean reward 1.000, 0 errors" in out
    listed = docker_client.containers.run(hudproxy_image, ["inspect", "/cassettes/shop.yaml"], remove=True).decode()
    assert "14 of 14 interactions" in listed and "/orders/A1" in listed


def test_container_is_removed_when_the_caller_fails(docker_client: DockerClient, hudproxy_image: str, cassette: Path):
    with pytest.raises(RuntimeError), replay_container(docker_client, cassette, image=hudproxy_image) as replay:
        name = replay.running.name
        raise RuntimeError("the test failed here")
    with pytest.raises(NotFound):
        docker_client.containers.get(name)


def test_container_that_exits_early_is_one_error_with_its_last_log_lines(
    docker_client: DockerClient, hudproxy_image: str, cassette: Path
):
    missing = cassette.parent / "missing.yaml"
    with pytest.raises(ContainerExited) as failure, replay_container(docker_client, missing, image=hudproxy_image):
        pass  # pragma: no cover - never ready
    message = str(failure.value)
    assert "exited with code 2 before it was ready" in message
    assert "missing.yaml" in message  # hudproxy's own one-line error, from the container's log
    assert failure.value.exit_code == 2
    assert not docker_client.containers.list(all=True, filters={"name": failure.value.name})


def test_unreadable_cassette_folder_is_explained(docker_client: DockerClient, hudproxy_image: str, cassette: Path):
    """pytest's and mkdtemp's folders are 0700: the image's user cannot read them, and the error says so."""
    cassette.parent.chmod(0o700)
    expected = r"uid 10001, which cannot read .*`chmod o\+rx`"
    image = hudproxy_image
    with pytest.raises(ContainerExited, match=expected), replay_container(docker_client, cassette, image=image):
        pass  # pragma: no cover - never ready


def test_missing_image_is_one_error_and_starts_nothing(docker_client: DockerClient, cassette: Path):
    expected = r"'hudproxy:no' is not on this engine; build it with"
    with pytest.raises(ImageNotFound, match=expected), replay_container(docker_client, cassette, image="hudproxy:no"):
        pass  # pragma: no cover - never started
    assert not docker_client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}={current_owner()}"})


def test_orphans_of_dead_processes_are_swept_and_live_ones_kept(docker_client: DockerClient, hudproxy_image: str):
    """A killed test run leaves containers; the next run removes those, never another live run's."""
    host = socket.gethostname()
    dead = _dead_pid()
    orphan = docker_client.containers.create(hudproxy_image, labels={MANAGED_LABEL: f"{host}:{dead}"})
    alive = docker_client.containers.create(hudproxy_image, labels={MANAGED_LABEL: f"{host}:1"})
    try:
        assert orphan.name in remove_orphans(docker_client)
        with pytest.raises(NotFound):
            docker_client.containers.get(orphan.id)
        assert docker_client.containers.get(alive.id)
    finally:
        alive.remove(force=True)
        with contextlib.suppress(NotFound):
            orphan.remove(force=True)


def _dead_pid() -> int:
    """The pid of a process that has just ended (and is reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
