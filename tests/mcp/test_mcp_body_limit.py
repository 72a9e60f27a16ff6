"""`--max-body` bounds `/mcp` request bodies on replay too: over it, the fast path and the SDK both answer the
SDK's 413 before parsing (declared length or a chunked body), and nothing reaches the journal as a call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
from mcp_helpers import wallet_exchanges, write_cassette
from mcp_types.version import LATEST_MODERN_VERSION

from hudproxy.mcp.http import attach_mcp
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

LIMIT = 2048
HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": LATEST_MODERN_VERSION,
    "mcp-method": "tools/call",
    "mcp-name": "charge_card",
}

META = {  # what the SDK client puts in every modern request's params._meta
    "io.modelcontextprotocol/protocolVersion": LATEST_MODERN_VERSION,
    "io.modelcontextprotocol/clientInfo": {"name": "mcp", "version": "0.1.0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def call(request_id: int, pad: str = "") -> bytes:
    arguments = {"amount": 100, **({"pad": pad} if pad else {})}
    params = {"name": "charge_card", "arguments": arguments, "_meta": META}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()


def test_an_mcp_body_over_max_body_is_413_on_both_paths(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    big = call(2, "x" * (LIMIT * 2))

    def pieces() -> Iterator[bytes]:  # chunked: no length declared
        yield big[:100]
        yield big[100:]

    answers = []
    app = create_replay_app(cassette, ReplayOptions(max_body=LIMIT))
    mcp = attach_mcp(app)
    assert mcp is not None
    with serve_in_thread(app) as base:
        small = httpx.post(f"{base}/mcp", headers=HEADERS, content=call(1), timeout=10)  # the fast path answers
        for fast in (True, False):
            if not fast:
                mcp.fast.clear()  # the SDK's session manager answers everything now
            declared = httpx.post(f"{base}/mcp", headers=HEADERS, content=big, timeout=10)
            chunked = httpx.post(f"{base}/mcp", headers=HEADERS, content=pieces(), timeout=10)
            answers.append((declared.status_code, chunked.status_code))
    assert answers == [(413, 413), (413, 413)]
    assert small.status_code == 200 and b"charged 100" in small.content
