"""Forward mode over real TLS: record through hudproxy's CA with three real clients, replay with the upstream
gone and a listener on its port proving nobody connects there, and no silent downgrade for untrusting clients.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from clients import CLIENTS, CURL, Call, curl
from tls_upstream import TlsFiles, counting_accepts, serve_tls, trusting

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.proxy.forward import forward_record, forward_replay
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

CALLS: list[Call] = [
    ("GET", "/json", None),
    ("GET", "/binary", None),
    ("GET", "/items/A1", None),
    ("PATCH", "/items/A1", {"status": "shipped"}),
    ("GET", "/items/A1", None),
]


def recorder(path: Path) -> Recorder:
    return Recorder(path, "all", proxy_mode="forward")


NEEDS_CURL = pytest.mark.skipif(not CURL, reason="curl is not installed")


@pytest.mark.parametrize("client", [pytest.param(n, marks=NEEDS_CURL if n == "curl" else ()) for n in CLIENTS])
def test_record_then_replay_over_tls_is_identical_and_never_connects_upstream(
    client: str, upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    send, cassette = CLIENTS[client], tmp_path / f"{client}.yaml"
    with serve_tls(upstream_tls) as api:
        with forward_record(recorder(cassette), upstream_ca=upstream_tls.ca_cert) as proxy:
            recorded = send(proxy, hudproxy_ca, api.url, CALLS)
        assert api.seen == [f"{m} {p}" for m, p, _ in CALLS], "every call reached the real upstream over TLS"
    assert [status for status, _ in recorded] == [200] * len(CALLS)
    assert json.loads(recorded[0][1])["tls"] is True and recorded[1][1] == bytes(range(256))[::-1]
    assert [json.loads(recorded[i][1])["status"] for i in (2, 4)] == ["pending", "shipped"]
    assert load_cassette(cassette).interactions[0].request.url == f"{api.url}/json"

    with counting_accepts(api.port) as (listener,):
        service = build_service(cassette, ReplayOptions(journal=tmp_path / "journal.db", forward=True))
        with forward_replay(service) as proxy:
            replayed = send(proxy, hudproxy_ca, api.url, CALLS)
        assert replayed == recorded
        assert listener.accepted == 0, "replay opened a connection to the upstream's port"
        socket.create_connection(("127.0.0.1", api.port), timeout=5).close()
        assert _eventually(lambda: listener.accepted == 1), "the listener does count connections"


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_client_that_does_not_trust_hudproxys_ca_gets_a_tls_failure_when_recording(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    cassette = tmp_path / "untrusted.yaml"
    with serve_tls(upstream_tls) as api, forward_record(recorder(cassette), upstream_ca=upstream_tls.ca_cert) as proxy:
        for verify in (True, trusting(upstream_tls.ca_cert)):  # the system store; the upstream's own CA
            with (
                httpx.Client(proxy=proxy, verify=verify, trust_env=False, timeout=10) as client,
                pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
            ):
                client.get(f"{api.url}/json")
        if CURL:
            assert curl("-x", proxy, f"{api.url}/json").returncode == 60  # curl: peer certificate not trusted
        assert api.seen == [], "nothing was sent on after the client refused the certificate"
    assert not cassette.exists(), "a recording that recorded nothing leaves no file"


def test_a_client_that_does_not_trust_hudproxys_ca_gets_a_tls_failure_in_replay(
    hudproxy_ca: Path, upstream_tls: TlsFiles, tmp_path: Path
) -> None:
    url = "https://localhost:9/json"  # nothing listens on port 9: replay never needs it
    cassette = tmp_path / "one.yaml"
    save_cassette(make_cassette([make_interaction(make_request(url=url), make_response(json={"ok": True}))]), cassette)
    with forward_replay(build_service(cassette, ReplayOptions(forward=True))) as proxy:
        with (
            httpx.Client(proxy=proxy, verify=trusting(upstream_tls.ca_cert), trust_env=False) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(url)
        with httpx.Client(proxy=proxy, verify=trusting(hudproxy_ca), trust_env=False) as client:
            assert client.get(url).json() == {"ok": True}


def test_recording_refuses_an_upstream_certificate_it_cannot_verify(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    """Without the upstream's CA, hudproxy does not record an unverified upstream: the client gets an error."""
    cassette = tmp_path / "unverified.yaml"
    with serve_tls(upstream_tls) as api, forward_record(recorder(cassette)) as proxy:
        with httpx.Client(proxy=proxy, verify=trusting(hudproxy_ca), trust_env=False, timeout=10) as client:
            response = client.get(f"{api.url}/json")
        assert response.status_code == 502, response.text
        assert "certificate verify failed" in response.text.lower()
        assert api.seen == []
    assert not cassette.exists(), "a recording that recorded nothing leaves no file"
