"""Which hosts a forward proxy records: all of them into one cassette, or only `--allow-host` ones with the
rest tunnelled untouched, or refused with 403 under `--block-others`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clients import CURL, Answer, curl, via_httpx
from tls_upstream import TlsFiles, Upstream, counting_accepts, serve_tls, trusting

from hudproxy.cassette import load_cassette
from hudproxy.proxy.forward import forward_record, forward_replay
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service

API_CALLS = [("GET", "/json", None), ("GET", "/items/A1", None)]
AUTH_CALLS = [("POST", "/token", {"grant_type": "client_credentials"})]


@contextlib.contextmanager
def two_hosts(files: TlsFiles) -> Iterator[tuple[Upstream, Upstream]]:
    """The api as https://localhost:A and an auth service as https://127.0.0.1:B: two hosts, two ports."""
    with serve_tls(files, "localhost") as api, serve_tls(files, "127.0.0.1") as auth:
        yield api, auth


def recording(
    path: Path, files: TlsFiles, allow_hosts: list[str] | None = None, block_others: bool = False
) -> contextlib.AbstractContextManager[str]:
    recorder = Recorder(path, "all", proxy_mode="forward")
    return forward_record(recorder, allow_hosts, block_others, upstream_ca=files.ca_cert)


def both_hosts(proxy: str, ca: Path, api: Upstream, auth: Upstream) -> list[Answer]:
    return via_httpx(proxy, ca, api.url, API_CALLS) + via_httpx(proxy, ca, auth.url, AUTH_CALLS)


def test_one_cassette_holds_two_hosts_and_replays_both_without_them(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    cassette = tmp_path / "two-hosts.yaml"
    with two_hosts(upstream_tls) as (api, auth), recording(cassette, upstream_tls) as proxy:
        recorded = via_httpx(proxy, hudproxy_ca, api.url, API_CALLS) + via_httpx(
            proxy, hudproxy_ca, auth.url, AUTH_CALLS
        )
    hosts = {(i.request.host, i.request.port) for i in load_cassette(cassette).interactions}
    assert hosts == {("localhost", api.port), ("127.0.0.1", auth.port)}

    with counting_accepts(api.port, auth.port) as listeners:
        with forward_replay(build_service(cassette, ReplayOptions(forward=True))) as proxy:
            replayed = both_hosts(proxy, hudproxy_ca, api, auth)
            swapped = via_httpx(proxy, hudproxy_ca, auth.url, API_CALLS[:1])  # right path, wrong host
        assert [listener.accepted for listener in listeners] == [0, 0]
    assert replayed == recorded and all(status == 200 for status, _ in recorded)
    assert swapped[0][0] == 501, "forward mode matches on the host too"


def test_allow_host_records_only_that_host_and_tunnels_the_others_untouched(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    cassette = tmp_path / "allowed.yaml"
    with two_hosts(upstream_tls) as (api, auth), recording(cassette, upstream_tls, allow_hosts=["localhost"]) as proxy:
        assert via_httpx(proxy, hudproxy_ca, api.url, API_CALLS)[0][0] == 200
        # Tunnelled: TLS runs end to end, so the client sees the upstream's own certificate, not hudproxy's.
        with httpx.Client(proxy=proxy, verify=trusting(upstream_tls.ca_cert), trust_env=False, timeout=10) as client:
            assert client.post(f"{auth.url}/token").json()["token_type"] == "bearer"
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"{api.url}/json")  # the allowed host is intercepted: hudproxy's certificate
        assert auth.seen == ["POST /token"]
    assert {i.request.host for i in load_cassette(cassette).interactions} == {"localhost"}
    assert len(load_cassette(cassette).interactions) == len(API_CALLS)


def test_block_others_refuses_other_hosts_with_403(upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path) -> None:
    cassette = tmp_path / "blocked.yaml"
    with two_hosts(upstream_tls) as (api, auth), recording(cassette, upstream_tls, ["localhost"], True) as proxy:
        assert via_httpx(proxy, hudproxy_ca, api.url, API_CALLS)[0][0] == 200
        with httpx.Client(proxy=proxy, verify=trusting(hudproxy_ca), trust_env=False, timeout=10) as client:
            with pytest.raises(httpx.ProxyError, match="403"):
                client.post(f"{auth.url}/token")  # HTTPS: the CONNECT itself is refused
            plain = client.get(f"http://127.0.0.1:{auth.port}/token")  # plain HTTP: refused in the request hook
        assert plain.status_code == 403 and "not an allowed host" in plain.text
        if CURL:
            refused = curl("-x", proxy, "--cacert", str(hudproxy_ca), "-o", "/dev/null", "-w", "%{http_connect}",
                           f"{auth.url}/token")  # fmt: skip
            assert refused.stdout == "403"
        assert auth.seen == [], "a blocked host never gets a request"
    assert {i.request.host for i in load_cassette(cassette).interactions} == {"localhost"}
