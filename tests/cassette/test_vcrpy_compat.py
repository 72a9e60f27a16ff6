"""vcrpy compatibility, both ways, with real servers and real clients.

hudproxy → vcrpy: the shop recorded through hudproxy's proxy, then replayed by vcrpy with the shop stopped.
vcrpy → hudproxy: the shop recorded by vcrpy itself, then replayed by hudproxy's replay server.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import vcr
import vcr.matchers
import yaml

from envs.shop.service import create_app
from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.record import Recorder
from hudproxy.record.background import recording_proxy
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

Call = tuple[str, str, Any]  # method, path, JSON body or None
Answer = tuple[int, bytes]  # status, body as the client decodes it
Client = Callable[[str, Sequence[Call]], list[Answer]]

TEXT_CALLS: tuple[Call, ...] = (
    ("GET", "/health", None),
    ("GET", "/orders/A1", None),
    ("PATCH", "/orders/A1", {"status": "paid"}),
    ("GET", "/orders/A1", None),  # the same request again: now answered "paid"
    ("GET", "/orders?status=paid&page=1&per_page=3", None),
    ("GET", "/events", None),
)
GZIP_CALL: Call = ("GET", "/reports/daily", None)
BINARY_CALL: Call = ("GET", "/catalog/image", None)
MATCH_ON = ["method", "path", "query", "body"]


def with_httpx(base_url: str, calls: Sequence[Call]) -> list[Answer]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return [(r.status_code, r.content) for r in (client.request(m, p, json=j) for m, p, j in calls)]


def with_requests(base_url: str, calls: Sequence[Call]) -> list[Answer]:
    with requests.Session() as session:
        return [
            (r.status_code, r.content)
            for r in (session.request(m, base_url + p, json=j, timeout=10) for m, p, j in calls)
        ]


CLIENTS: dict[str, Client] = {"httpx": with_httpx, "requests": with_requests}


def _body_none_is_empty(r1: Any, r2: Any) -> None:
    """vcrpy's body matcher, except that "no body" (None) equals the empty body (b"")."""
    a, b = copy.copy(r1), copy.copy(r2)
    a.body, b.body = r1.body or b"", r2.body or b""
    vcr.matchers.body(a, b)


def vcrpy_for(client: str) -> vcr.VCR:
    """vcrpy as a user would configure it for `client`.

    vcrpy's own stubs disagree on a bodyless request: requests hands it None, httpx b"", and its body matcher
    tells the two apart. So a cassette's `body: null` matches only requests, and `body: ''` only httpx; this
    holds for vcrpy's own cassettes too. For httpx we register a body matcher that equates them.
    """
    recorder = vcr.VCR()
    if client == "httpx":
        recorder.register_matcher("body", _body_none_is_empty)
    return recorder


# ---------------------------------------------------------------- hudproxy records, vcrpy replays


@pytest.fixture(scope="module")
def hudproxy_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, list[Answer]]:
    """The shop recorded through hudproxy's proxy (YAML, and the same cassette saved as JSON); the shop is stopped."""
    folder = tmp_path_factory.mktemp("hudproxy-recorded")
    path = folder / "shop.yaml"
    with serve_in_thread(create_app()) as shop, recording_proxy(Recorder(path, "all", target=shop), shop) as proxy:
        live = with_httpx(proxy, (*TEXT_CALLS, GZIP_CALL, BINARY_CALL))
    save_cassette(load_cassette(path), folder / "shop.json")
    return shop, folder, live


def test_hudproxy_cassette_points_at_the_upstream(hudproxy_recording: tuple[str, Path, list[Answer]]) -> None:
    shop, folder, live = hudproxy_recording

    cassette = load_cassette(folder / "shop.yaml")

    assert [i.request.url for i in cassette.interactions] == [
        shop + p for _, p, _ in (*TEXT_CALLS, GZIP_CALL, BINARY_CALL)
    ]
    assert [status for status, _ in live] == [200] * len(live)


@pytest.mark.parametrize("client", ["httpx", "requests"])
@pytest.mark.parametrize(
    ("fmt", "calls"),
    [
        pytest.param("yaml", (*TEXT_CALLS, GZIP_CALL, BINARY_CALL), id="yaml"),
        # vcrpy's JSON serializer has no binary bodies; hudproxy's {"base64_string": ...} is its own extension
        pytest.param("json", (*TEXT_CALLS, GZIP_CALL), id="json"),
    ],
)
def test_vcrpy_replays_a_hudproxy_cassette(
    hudproxy_recording: tuple[str, Path, list[Answer]], client: str, fmt: str, calls: tuple[Call, ...]
) -> None:
    shop, folder, live = hudproxy_recording
    path = folder / f"shop.{fmt}"

    with vcrpy_for(client).use_cassette(str(path), record_mode="none", match_on=MATCH_ON, serializer=fmt):
        replayed = CLIENTS[client](shop, calls)

    assert replayed == live[: len(calls)]
    daily = replayed[len(TEXT_CALLS)]
    assert json.loads(daily[1])["date"] == "2026-01-01"  # gzip on the wire, decoded JSON for vcrpy


# ---------------------------------------------------------------- vcrpy records, hudproxy replays


def record_with_vcrpy(path: Path, client: str, calls: Sequence[Call]) -> list[Answer]:
    """Record the live shop with vcrpy itself; the shop is stopped on return."""
    with (
        serve_in_thread(create_app()) as shop,
        vcr.use_cassette(str(path), record_mode="all", serializer=path.suffix.lstrip(".")),
    ):
        return CLIENTS[client](shop, calls)


@pytest.mark.parametrize(
    ("client", "fmt", "calls"),
    [
        pytest.param("httpx", "yaml", (*TEXT_CALLS, BINARY_CALL), id="httpx-yaml"),
        pytest.param("requests", "yaml", (*TEXT_CALLS, BINARY_CALL), id="requests-yaml"),
        pytest.param("httpx", "json", TEXT_CALLS, id="httpx-json"),
        pytest.param("requests", "json", TEXT_CALLS, id="requests-json"),
    ],
)
def test_hudproxy_replays_a_vcrpy_cassette(
    tmp_path: Path, upstream: Callable[[Any], str], client: str, fmt: str, calls: tuple[Call, ...]
) -> None:
    path = tmp_path / f"vcrpy.{fmt}"
    live = record_with_vcrpy(path, client, calls)

    replayed = CLIENTS[client](upstream(create_replay_app(path)), calls)

    assert replayed == live


def test_vcrpy_raw_gzip_recording_replays_byte_exact(tmp_path: Path, upstream: Callable[[Any], str]) -> None:
    path = tmp_path / "vcrpy.yaml"
    (live,) = record_with_vcrpy(path, "httpx", [GZIP_CALL])
    recorded = yaml.safe_load(path.read_text())["interactions"][0]["response"]
    wire = recorded["body"]["string"]
    assert isinstance(wire, bytes) and wire[:2] == b"\x1f\x8b"  # vcrpy kept the compressed bytes
    assert recorded["headers"]["content-encoding"] == ["gzip"]

    with (
        httpx.Client(base_url=upstream(create_replay_app(path))) as client,
        client.stream("GET", "/reports/daily") as r,
    ):
        raw = b"".join(r.iter_raw())
        encoding = r.headers["content-encoding"]

    assert raw == wire
    assert encoding == "gzip"
    assert gzip.decompress(raw) == live[1]


def test_vcrpy_decoded_gzip_recording_replays(tmp_path: Path, upstream: Callable[[Any], str]) -> None:
    path = tmp_path / "vcrpy.yaml"
    (live,) = record_with_vcrpy(path, "requests", [GZIP_CALL])
    recorded = yaml.safe_load(path.read_text())["interactions"][0]["response"]
    assert recorded["body"]["string"] == live[1].decode()  # decoded text ...
    assert recorded["headers"]["content-encoding"] == ["gzip"]  # ... under the wire's headers

    with httpx.Client(base_url=upstream(create_replay_app(path))) as client:
        replayed = client.get("/reports/daily")

    assert (replayed.status_code, replayed.content) == live
