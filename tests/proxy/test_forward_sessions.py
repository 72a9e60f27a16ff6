"""Sessions from proxy credentials (`http://<session>@127.0.0.1:P`) keep concurrent clients apart in replay:
one session's PATCH moves only its own later GETs forward.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import requests
from clients import via_httpx
from tls_upstream import TlsFiles, counting_accepts, serve_tls, trusting

from hudproxy.journal.query import read_calls
from hudproxy.proxy.forward import forward_record, forward_replay
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service

STATEFUL = [("GET", "/items/A1", None), ("PATCH", "/items/A1", {"status": "shipped"}), ("GET", "/items/A1", None)]


def with_session(proxy: str, session: str) -> str:
    return proxy.replace("http://", f"http://{session}@", 1)


def test_proxy_credentials_isolate_two_concurrent_clients(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    cassette, journal = tmp_path / "items.yaml", tmp_path / "journal.db"
    with serve_tls(upstream_tls) as api:
        with forward_record(Recorder(cassette, "all", proxy_mode="forward"), upstream_ca=upstream_tls.ca_cert) as proxy:
            recorded = via_httpx(proxy, hudproxy_ca, api.url, STATEFUL)
        assert recorded[0][1] != recorded[2][1], "the upstream's answer changed after the PATCH"

    barrier = threading.Barrier(2, timeout=10)
    item = f"{api.url}/items/A1"

    def alice(proxy: str) -> list[str]:
        """httpx; the session rides on the CONNECT of its one TLS connection."""
        with httpx.Client(proxy=with_session(proxy, "alice"), verify=trusting(hudproxy_ca), trust_env=False) as c:
            seen = [c.get(item).json()["status"], c.patch(item, json={"status": "shipped"}).json()["status"]]
            barrier.wait()  # bob asks only after alice's PATCH was answered
            return [*seen, c.get(item).json()["status"]]

    def bob(proxy: str) -> list[str]:
        """requests, on its own connection at the same time. requests sends no Proxy-Authorization for a
        user without a password (`bob@`), so the session is written `bob:@` (an empty password)."""
        with requests.Session() as s:
            s.trust_env, s.verify = False, str(hudproxy_ca)
            s.proxies = {"https": with_session(proxy, "bob:")}
            seen = [s.get(item, timeout=10).json()["status"]]
            barrier.wait()
            return [*seen, s.get(item, timeout=10).json()["status"], s.get(item, timeout=10).json()["status"]]

    with (
        counting_accepts(api.port) as (listener,),
        forward_replay(build_service(cassette, ReplayOptions(journal=journal, forward=True))) as proxy,
        ThreadPoolExecutor(2) as pool,
    ):
        alices, bobs = pool.submit(alice, proxy), pool.submit(bob, proxy)
        assert alices.result(20) == ["pending", "shipped", "shipped"]
        assert bobs.result(20) == ["pending", "pending", "pending"], "alice's PATCH leaked into bob's session"
    assert listener.accepted == 0
    calls: dict[str, Any] = {who: [c.method for c in read_calls(journal, session=who)] for who in ("alice", "bob")}
    assert calls == {"alice": ["GET", "PATCH", "GET"], "bob": ["GET", "GET", "GET"]}
