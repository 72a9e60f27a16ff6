"""Fault rules in forward mode: a cassette recorded through the forward proxy from a real TLS upstream, replayed
with `--faults`; an httpx client through the proxy gets the injected 429, a dropped connection, then the recording."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from clients import via_httpx
from tls_upstream import TlsFiles, counting_accepts, serve_tls, trusting

from hudproxy.journal.query import read_calls
from hudproxy.proxy.forward import forward_record, forward_replay
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service

FAULTS = """\
seed: 3
rules:
  - name: throttled
    match: {method: GET, path: /items/*}
    nth: 1
    fault: {kind: status, status: 429, headers: {Retry-After: "0"}}
  - name: dropped
    match: {method: GET, path: /items/*}
    nth: 2
    fault: {kind: reset}
"""


def test_forward_replay_injects_a_429_then_a_reset_then_answers(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    cassette, journal, faults = tmp_path / "items.yaml", tmp_path / "journal.db", tmp_path / "faults.yaml"
    faults.write_text(FAULTS)
    with serve_tls(upstream_tls) as api:
        with forward_record(Recorder(cassette, "all", proxy_mode="forward"), upstream_ca=upstream_tls.ca_cert) as proxy:
            [(status, recorded)] = via_httpx(proxy, hudproxy_ca, api.url, [("GET", "/items/A1", None)])
        assert status == 200
    item = f"{api.url}/items/A1"
    service = build_service(cassette, ReplayOptions(journal=journal, forward=True, faults=faults))
    with counting_accepts(api.port) as (listener,), forward_replay(service) as proxy:
        client = httpx.Client(proxy=proxy.replace("http://", "http://run-1@", 1), verify=trusting(hudproxy_ca),
                              trust_env=False, timeout=10)  # fmt: skip
        with client:
            first = client.get(item)
            assert (first.status_code, first.headers["retry-after"]) == (429, "0")
            with pytest.raises(httpx.TransportError):
                client.get(item)
        with httpx.Client(proxy=proxy.replace("http://", "http://run-1@", 1), verify=trusting(hudproxy_ca),
                          trust_env=False, timeout=10) as again:  # fmt: skip
            third = again.get(item)
        assert (third.status_code, third.content) == (200, recorded)
    assert listener.accepted == 0
    calls = read_calls(journal, session="run-1")
    assert [(c.kind, c.status, c.fault) for c in calls] == [
        ("fault", 429, "throttled"), ("fault", 0, "dropped"), ("http", 200, None)
    ]  # fmt: skip
