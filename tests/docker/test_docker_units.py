"""The Docker side's parts that need no engine: the healthcheck's discovery, the errors, the build inputs.

These run everywhere, also under `-m "not docker"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker.utils.build import exclude_paths
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hudproxy.containers import EngineUnavailable, ImageBuildFailed, build_image, connect
from hudproxy.containers.errors import ContainerExited
from hudproxy.containers.healthcheck import Probe, check, find_probe, probe_for
from hudproxy.containers.run import _unreadable_hint
from hudproxy.netutil import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_SCRIPT = ["/opt/hudproxy/bin/python", "/opt/hudproxy/bin/hudproxy"]


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["hudproxy", "replay", "/c/s.yaml"], {}, Probe("127.0.0.1", 8080, True)),
        (
            [*VENV_SCRIPT, "replay", "/c/s.yaml", "--host", "0.0.0.0", "--port", "9000", "--admin-token", "T"],
            {},
            Probe("127.0.0.1", 9000, True, "T"),
        ),
        (  # docker run --init: PID 1 is docker-init
            ["/sbin/docker-init", "--", "hudproxy", "replay", "/c/s.yaml", "--port=9001", "--host=::"],
            {"HUDPROXY_ADMIN_TOKEN": "E"},
            Probe("::1", 9001, True, "E"),
        ),
        (["hudproxy", "replay", "/c/s.yaml", "--mode", "forward"], {}, Probe("127.0.0.1", 8080, False)),
        (["hudproxy", "record", "--target", "http://x", "--host", "10.0.0.5"], {}, Probe("10.0.0.5", 8080, False)),
        (["hudproxy", "replay", "/c/s.yaml", "--stdio"], {}, None),
        (["hudproxy", "inspect", "/c/s.yaml"], {}, None),
        (["python", "-m", "hudproxy.containers.healthcheck"], {}, None),
    ],
)
def test_probe_follows_the_serving_command_line(argv: list[str], environ: dict[str, str], expected: Probe | None):
    assert probe_for(argv, environ) == expected


def test_probe_url_brackets_ipv6():
    assert Probe("::1", 8080, True).url == "http://[::1]:8080/_hudproxy/health"


def test_find_probe_reads_proc(tmp_path: Path):
    """The first serving hudproxy process wins; its token may come from its own environment."""
    for pid, argv, environ in [
        ("7", [b"sleep", b"1"], b""),
        (
            "12",
            [*(a.encode() for a in VENV_SCRIPT), b"replay", b"/c/s.yaml", b"--port", b"8081"],
            b"A=1\0HUDPROXY_ADMIN_TOKEN=S\0",
        ),
    ]:
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
        (tmp_path / pid / "environ").write_bytes(environ)
    (tmp_path / "self").mkdir()
    assert find_probe(tmp_path) == (Probe("127.0.0.1", 8081, True, "S"), True)
    assert find_probe(tmp_path / "7") == (None, False)


def test_check_sends_the_token_and_reports_status(upstream: Callable[[Any], str]):
    def health(request: Request) -> JSONResponse:
        ok = request.headers.get("authorization") == "Bearer T"
        return JSONResponse({"status": "ok"} if ok else {"detail": "token"}, status_code=200 if ok else 401)

    base = upstream(Starlette(routes=[Route("/_hudproxy/health", health)]))
    port = int(base.rsplit(":", 1)[1])
    healthy, line = check(Probe("127.0.0.1", port, True, "T"))
    assert healthy, line
    assert line.startswith(f"healthy: GET http://127.0.0.1:{port}/_hudproxy/health -> 200")
    assert check(Probe("127.0.0.1", port, True, "wrong")) == (
        False,
        f"unhealthy: GET http://127.0.0.1:{port}/_hudproxy/health -> 401",
    )
    assert check(Probe("127.0.0.1", port, False))[0]  # TCP probe: the port accepts connections
    closed = free_port()
    assert not check(Probe("127.0.0.1", closed, False))[0]


def test_no_engine_is_one_clear_error(tmp_path: Path):
    with pytest.raises(EngineUnavailable) as failure:
        connect(f"unix://{tmp_path}/docker.sock", timeout=5)
    assert str(failure.value).startswith(
        f"no Docker engine answers at unix://{tmp_path}/docker.sock (No such file or directory); start one"
    )


def test_build_without_a_dockerfile_is_one_clear_error(tmp_path: Path):
    with pytest.raises(ImageBuildFailed, match="no Dockerfile in"):
        build_image(None, tmp_path)  # type: ignore[arg-type]  # fails before it talks to the engine


def test_unreadable_mount_gets_a_hint():
    exited = ContainerExited(
        "c1", "hudproxy:latest", 1, "PermissionError: [Errno 13] Permission denied: '/cassettes/s'"
    )
    message = str(_unreadable_hint(exited, Path("/tmp/x")))
    assert "uid 10001, which cannot read /tmp/x: `chmod o+rx`" in message
    other = ContainerExited("c1", "hudproxy:latest", 2, "hudproxy: no such cassette file")
    assert _unreadable_hint(other, Path("/tmp/x")) is other


def test_build_context_keeps_what_the_dockerfile_copies():
    """.dockerignore must not drop a COPY source, and should drop what would bloat the context."""
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and line[0] != "#"
    ]
    kept = exclude_paths(str(ROOT), patterns)
    for needed in ("pyproject.toml", "README.md", "hudproxy/containers/healthcheck.py", "docker/wheels/README.md"):
        assert needed in kept, needed
    assert not any(path.startswith((".git/", "tests/", "bench/")) for path in kept)


def test_mitmproxy_pin_is_the_same_everywhere():
    """The image installs the same mitmproxy (without dependencies) as .ci/run and the README."""
    pins = {
        name: set(re.findall(r"mitmproxy(?:==|_VERSION=)(\d+\.\d+\.\d+)", (ROOT / name).read_text(), re.IGNORECASE))
        for name in ("Dockerfile", "docker/build-image.sh", ".ci/run", "README.md")
    }
    assert all(len(found) == 1 for found in pins.values()), pins
    assert len(set().union(*pins.values())) == 1, pins
