"""The floor for a Python replay server: a bare ASGI callable answering canned bytes from a dict.

It reads the request body (a real replay server must, to match on it) but does no other work, so the gap
between this and hudproxy is what hudproxy's matching, journal and framework cost. Also used as the
upstream that mitmdump records from. Run: ``python bench/bare_server.py CASSETTE.json --port 8001``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

Canned = tuple[int, list[tuple[bytes, bytes]], bytes]
NOT_FOUND: Canned = (
    404,
    [(b"content-type", b"text/plain"), (b"content-length", b"9")],
    b"not found",
)


def load_cassette(path: Path) -> dict[str, Any]:
    """Parse a vcrpy cassette, JSON or YAML by extension (YAML with libyaml when available)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def build_routes(cassette: dict[str, Any]) -> dict[str, Canned]:
    """Index responses by path+query of the recorded URI, pre-encoded so a hit costs one dict lookup."""
    routes: dict[str, Canned] = {}
    for interaction in cassette["interactions"]:
        uri: str = interaction["request"]["uri"]
        target = "/" + uri.split("://", 1)[-1].split("/", 1)[-1]
        response = interaction["response"]
        body = response["body"]["string"].encode()
        headers = [
            (name.lower().encode(), value.encode()) for name, values in response["headers"].items() for value in values
        ]
        routes[target] = (response["status"]["code"], headers, body)
    return routes


def make_app(routes: dict[str, Canned]) -> Any:
    """The ASGI callable: drain the body, look up path+query, send the canned answer."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        query = scope["query_string"]
        key = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        status, headers, body = routes.get(key, NOT_FOUND)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def _lifespan(receive: Any, send: Any) -> None:
    """Acknowledge lifespan startup/shutdown so uvicorn needs no special flags."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def main() -> None:
    """Load the cassette, then serve it with uvicorn's fastest settings."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cassette", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app = make_app(build_routes(load_cassette(args.cassette)))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
