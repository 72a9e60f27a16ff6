"""mitmproxy flow files: recorded by a real `mitmdump -w` run in front of a live upstream, then imported."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from bodies_app import BINARY, GZIPPED, TOKEN, bodies_app

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.errors import CassetteError
from hudproxy.interaction import header_value
from hudproxy.interchange import import_file
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.scrub import ScrubPolicy
from hudproxy.scrub.placeholder import without_hashes
from hudproxy.serving import serve_in_thread

MITMDUMP = [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()"]


def mitmdump_flows(upstream: str, flows: Path, confdir: Path) -> list[httpx.Response]:
    """Run mitmdump as a reverse proxy writing flows, send four requests through it, stop it cleanly."""
    port = free_port()
    args = [*MITMDUMP, "--mode", f"reverse:{upstream}", "--listen-host", "127.0.0.1", "--listen-port", str(port)]
    args += ["-w", str(flows), "--set", f"confdir={confdir}", "-q"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for_port("127.0.0.1", port, timeout=20), proc.stderr.read() if proc.poll() is not None else ""
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
            return [
                client.get("/json"),
                client.get("/binary"),
                client.get("/gzip"),
                client.post("/login?api_key=AKIA-flow-1", json={"user": "ada", "password": "pw-1"},
                            headers={"Authorization": TOKEN}),
            ]  # fmt: skip
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


@pytest.fixture(scope="module")
def flow_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[httpx.Response]]:
    """One real mitmdump run for the module; the upstream is stopped before any test reads the flows."""
    folder = tmp_path_factory.mktemp("mitm")
    flows = folder / "traffic.flows"
    with serve_in_thread(bodies_app()) as upstream:
        responses = mitmdump_flows(upstream, flows, folder / "mitmproxy-conf")
    return flows, upstream, responses


def test_a_mitmdump_flow_file_imports_with_exact_wire_bytes(flow_file: tuple[Path, str, list[httpx.Response]]) -> None:
    flows, upstream, responses = flow_file
    interactions = import_file("mitm", flows).interactions
    assert [(i.request.method, without_hashes(i.request.url)) for i in interactions] == [
        ("GET", f"{upstream}/json"),
        ("GET", f"{upstream}/binary"),
        ("GET", f"{upstream}/gzip"),
        ("POST", f"{upstream}/login?api_key=SCRUBBED"),
    ], "the upstream's URLs, as mitmproxy records them in reverse mode"
    assert [i.response.status for i in interactions] == [r.status_code for r in responses]
    assert interactions[0].response.body == responses[0].content
    assert interactions[1].response.body == BINARY
    assert interactions[2].response.body == GZIPPED, "the compressed bytes as sent, not the decoded ones"
    assert header_value(interactions[2].response.headers, "content-encoding") == "gzip"
    assert [i.index for i in interactions] == [0, 1, 2, 3]
    assert all(i.recorded_at and i.duration_ms is not None for i in interactions)


def test_secrets_in_flows_are_scrubbed_unless_kept(flow_file: tuple[Path, str, list[httpx.Response]]) -> None:
    flows, _, _ = flow_file
    login = import_file("mitm", flows).interactions[3]
    assert without_hashes(header_value(login.request.headers, "authorization") or "") == "Bearer SCRUBBED"
    assert json.loads(without_hashes(login.request.body.decode())) == {"user": "ada", "password": "SCRUBBED"}
    assert json.loads(without_hashes(login.response.body.decode())) == {"user": "ada", "access_token": "SCRUBBED"}
    kept = import_file("mitm", flows, ScrubPolicy.disabled()).interactions[3]
    assert header_value(kept.request.headers, "authorization") == TOKEN


def test_imported_flows_replay_with_the_upstream_stopped(
    flow_file: tuple[Path, str, list[httpx.Response]], tmp_path: Path, replay_server: Callable[[Path], httpx.Client]
) -> None:
    flows, _, responses = flow_file
    cassette = save_cassette(import_file("mitm", flows), tmp_path / "flows.yaml")
    assert load_cassette(cassette).meta["imported_from"] == {"format": "mitm", "file": "traffic.flows"}
    client = replay_server(cassette)
    replayed = [
        client.get("/json"),
        client.get("/binary"),
        client.get("/gzip"),
        client.post("/login?api_key=AKIA-flow-1", json={"user": "ada", "password": "pw-1"},
                    headers={"Authorization": TOKEN}),
    ]  # fmt: skip
    assert [r.status_code for r in replayed] == [200, 200, 200, 200]
    assert [r.content for r in replayed[:3]] == [r.content for r in responses[:3]]
    assert json.loads(without_hashes(replayed[3].text)) == {"user": "ada", "access_token": "SCRUBBED"}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"this is not a flow file\n", "Invalid data format", id="garbage"),
        pytest.param(b"5:hello,", "damaged or truncated", id="not-a-flow"),
    ],
)
def test_a_malformed_flow_file_is_one_error_naming_the_file(content: bytes, fragment: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.flows"
    bad.write_bytes(content)
    with pytest.raises(CassetteError) as caught:
        import_file("mitm", bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: not a mitmproxy flow file: ") and fragment in message
    assert "mitmdump -w" in message and "\n" not in message


def test_a_truncated_flow_file_is_named_too(flow_file: tuple[Path, str, list[httpx.Response]], tmp_path: Path) -> None:
    flows, _, _ = flow_file
    cut = tmp_path / "cut.flows"
    cut.write_bytes(flows.read_bytes()[: flows.stat().st_size // 2])
    with pytest.raises(CassetteError, match=r"cut\.flows: not a mitmproxy flow file"):
        import_file("mitm", cut)
