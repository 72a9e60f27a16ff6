"""Forward-mode replay bounds each request as reverse mode does: a body over max_body is 413 from mitmproxy
before it is buffered, and a compression bomb is 413 from the replay service, inflated only up to its cap."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx

from hudproxy.cassette.files import dumps_cassette
from hudproxy.proxy.forward import forward_replay
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response


def cassette(tmp_path: Path) -> Path:
    recorded = make_request("POST", "http://api.test/orders", json={"sku": "SKU-1"})
    path = tmp_path / "orders.yaml"
    path.write_bytes(dumps_cassette(make_cassette([make_interaction(recorded, make_response(201))]), False))
    return path


def test_forward_replay_answers_413_over_max_body_and_for_a_bomb(hudproxy_ca: Path, tmp_path: Path) -> None:
    service = build_service(cassette(tmp_path), ReplayOptions(forward=True, max_body=1024 * 1024))
    bomb = gzip.compress(bytes(64 * 1024 * 1024), 9)
    with forward_replay(service) as proxy, httpx.Client(proxy=proxy, trust_env=False, timeout=30) as client:
        big = client.post("http://api.test/orders", content=b"x" * (2 * 1024 * 1024))
        bombed = client.post("http://api.test/orders", content=bomb, headers={"Content-Encoding": "gzip"})
        plain = client.post("http://api.test/orders", content=gzip.compress(b'{"sku":"SKU-1"}'),
                            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413
    assert bombed.status_code == 413 and "inflates past" in bombed.json()["message"]
    assert plain.status_code == 201, "a compressed body within the limits still matches"
