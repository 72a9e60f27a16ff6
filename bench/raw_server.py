"""The physical reference: a raw asyncio protocol on uvloop answering canned bytes, with no ASGI and no matching.

It parses each request with httptools (a real server must find where one request ends), drains the body, looks up
path+query in a dict of complete pre-built responses and writes them; keep-alive and pipelining work, nothing
else. No Python HTTP server can answer faster on this core, so "hudproxy / raw" says how close to the physical
limit replay gets. Run: ``python bench/raw_server.py CASSETTE.json --port 8001``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httptools
import uvloop
from bare_server import Canned, build_routes, load_cassette

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nnot found"


def prebuilt(routes: dict[str, Canned]) -> dict[bytes, bytes]:
    """path+query -> the whole answer (status line, headers, body) as one bytes object."""
    answers = {}
    for target, (status, headers, body) in routes.items():
        lines = [b"HTTP/1.1 %d OK\r\n" % status]
        lines += [b"%b: %b\r\n" % (name, value) for name, value in headers if name != b"content-length"]
        lines.append(b"content-length: %d\r\n\r\n" % len(body))
        answers[target.encode("latin-1")] = b"".join(lines) + body
    return answers


class CannedProtocol(asyncio.Protocol):
    """One connection: parse, look up, write."""

    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.answers = answers
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        if self.transport is not None:
            self.transport.write(self.answers.get(self.url, NOT_FOUND))


async def serve(answers: dict[bytes, bytes], host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: CannedProtocol(answers), host, port, backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cassette", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    answers = prebuilt(build_routes(load_cassette(args.cassette)))
    uvloop.run(serve(answers, args.host, args.port))


if __name__ == "__main__":
    main()
