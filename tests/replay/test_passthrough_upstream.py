"""`hudproxy replay --unmatched passthrough` against real targets, as the CLI runs it: a private-CA HTTPS target is
trusted with `--upstream-ca` (besides the system's CAs) and the miss is appended; a target that fails answers 502
with a JSON body naming it and the cause, never a 500 with a traceback, and nothing is appended."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.netutil import free_port
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response
from tests.processes import HUDPROXY, hudproxy_listening
from tests.proxy.tls_upstream import TlsFiles, make_private_ca, serve_tls

pytestmark = pytest.mark.usefixtures("replay_server")


def environment() -> dict[str, str]:
    """The test's environment (HUDPROXY_CA_DIR included) without proxy variables, on a wide terminal."""
    return {**{k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}, "COLUMNS": "200"}


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_private_ca(tmp_path_factory.mktemp("upstream-ca"))


@pytest.fixture
def ca_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hudproxy's folder for the bundles it writes (never ~/.hudproxy), inherited by the CLI process."""
    monkeypatch.setenv("HUDPROXY_CA_DIR", str(tmp_path / "ca"))
    return tmp_path / "ca"


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port nothing listens on, held (bound, never listening) so connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def one_recording(path: Path, target: str) -> Path:
    save_cassette(make_cassette([make_interaction(make_request("GET", f"{target}/json"), make_response(200, b"{}"))]),
                  path)  # fmt: skip
    return path


@pytest.fixture
def hudproxy_replay() -> Iterator[Any]:
    """Start `hudproxy replay` as a real process; returns (process, base URL); stopped at the end."""
    with contextlib.ExitStack() as stack:

        def start(*args: str) -> tuple[subprocess.Popen[str], str]:
            port = free_port()
            argv = ["replay", *args, "--port", str(port), "--no-journal"]
            return stack.enter_context(hudproxy_listening(argv, port, env=environment(), timeout=30))

        yield start


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    return err


def get(url: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=30)


def test_upstream_ca_lets_passthrough_reach_a_private_ca_target(
    private_ca: TlsFiles, ca_dir: Path, tmp_path: Path, hudproxy_replay: Any
) -> None:
    with serve_tls(private_ca) as api:
        cassette = one_recording(tmp_path / "c.yaml", api.url)
        untrusting, base = hudproxy_replay(str(cassette), "--unmatched", "passthrough", "--target", api.url)
        refused = get(f"{base}/items/A1")
        err = stop(untrusting)
        assert refused.status_code == 502 and refused.json()["cause"] == "tls", refused.text
        assert refused.json()["target"] == api.url and "Traceback" not in err and "(tls)" in err, err
        assert len(load_cassette(cassette).interactions) == 1, "a failure is not appended"

        trusting, base = hudproxy_replay(str(cassette), "--unmatched", "passthrough", "--target", api.url,
                                         "--upstream-ca", str(private_ca.ca_cert))  # fmt: skip
        live = get(f"{base}/items/A1")
        stop(trusting)
    assert live.status_code == 200 and live.json() == {"id": "A1", "status": "pending"}
    assert api.seen == ["GET /items/A1"], "only the trusting replay reached the target"
    assert [i.request.path for i in load_cassette(cassette).interactions] == ["/json", "/items/A1"]
    bundles = list(ca_dir.glob("upstream-*.pem"))
    assert len(bundles) == 1 and private_ca.ca_cert.read_bytes().strip() in bundles[0].read_bytes()


def test_a_passthrough_target_that_is_down_is_a_json_502(tmp_path: Path, hudproxy_replay: Any) -> None:
    with closed_port() as port:
        target = f"http://127.0.0.1:{port}"
        cassette = one_recording(tmp_path / "c.yaml", target)
        process, base = hudproxy_replay(str(cassette), "--unmatched", "passthrough", "--target", target)
        answer = get(f"{base}/items/A1?key=s3cret")
        err = stop(process)
    assert answer.status_code == 502 and answer.headers["content-type"] == "application/json"
    assert {k: answer.json()[k] for k in ("target", "cause", "request")} == {
        "target": target,
        "cause": "refused",
        "request": "GET /items/A1",
    }
    assert "not forwarded: GET /items/A1" in err and "(refused)" in err and "Traceback" not in err, err
    assert "s3cret" not in err + answer.text
    assert len(load_cassette(cassette).interactions) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param([], "--unmatched passthrough", id="without-a-target"),
        pytest.param(["--unmatched", "passthrough", "--target", "https://127.0.0.1:9"], "cannot read it", id="missing"),
    ],
)
def test_a_bad_upstream_ca_is_one_line_and_exit_2(args: list[str], fragment: str, tmp_path: Path, ca_dir: Path) -> None:
    cassette = one_recording(tmp_path / "c.yaml", "https://127.0.0.1:9")
    done = subprocess.run([HUDPROXY, "replay", str(cassette), *args, "--upstream-ca", str(tmp_path / "nope.pem"),
                           "--port", str(free_port()), "--no-journal"],
                          capture_output=True, text=True, timeout=60, env=environment())  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "--upstream-ca" in lines[0] and fragment in lines[0], lines
