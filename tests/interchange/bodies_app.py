"""The live upstream the import tests record from: every kind of body, and what it sends, byte for byte."""

from __future__ import annotations

import gzip
import json

from fastapi import FastAPI, Request
from fastapi.responses import Response

BINARY = bytes(range(256))[::-1] * 4  # starts with 0xff: never valid UTF-8
GZIPPED = gzip.compress(json.dumps({"kind": "gzip", "ok": True}).encode(), mtime=0)
TOKEN = "Bearer sk-live-interchange-4242"
# binary, but its first 100 bytes look like text to mitmproxy (27% control bytes): `hardump` writes it as text
LOOKS_TEXT = bytes(range(256)) * 4
BAD_UTF8_JSON = b'{"name": "caf\xe9", "raw": "\xff\xfe"}'  # declared JSON (UTF-8) but not valid UTF-8


def bodies_app() -> FastAPI:
    """Text, binary, gzip on the wire, and an echo of a JSON POST that also returns a secret."""
    app = FastAPI()

    @app.get("/json")
    def plain() -> Response:
        return Response(json.dumps({"kind": "json", "text": "héllo"}), media_type="application/json")

    @app.get("/binary")
    def binary() -> Response:
        return Response(BINARY, media_type="application/octet-stream")

    @app.get("/looks-text")
    def looks_text() -> Response:
        return Response(LOOKS_TEXT, media_type="application/octet-stream")

    @app.get("/bad-utf8")
    def bad_utf8() -> Response:
        return Response(BAD_UTF8_JSON, media_type="application/json")

    @app.get("/gzip")
    def gzipped() -> Response:
        return Response(GZIPPED, media_type="application/json", headers={"Content-Encoding": "gzip"})

    @app.post("/echo-bytes")
    async def echo_bytes(request: Request) -> Response:
        return Response(await request.body(), media_type="application/octet-stream")

    @app.post("/login")
    async def login(request: Request) -> Response:
        sent = await request.json()
        body = {"user": sent["user"], "access_token": "tok-from-server-777"}
        return Response(json.dumps(body), media_type="application/json")

    return app
