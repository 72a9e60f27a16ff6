"""The live upstream the import tests record from: every kind of body, and what it sends, byte for byte."""

from __future__ import annotations

import gzip
import json

from fastapi import FastAPI, Request
from fastapi.responses import Response

BINARY = bytes(range(256))[::-1] * 4  # starts with 0xff: never valid UTF-8
GZIPPED = gzip.compress(json.dumps({"kind": "gzip", "ok": True}).encode(), mtime=0)
TOKEN = "Bearer sk-live-interchange-4242"


def bodies_app() -> FastAPI:
    """Text, binary, gzip on the wire, and an echo of a JSON POST that also returns a secret."""
    app = FastAPI()

    @app.get("/json")
    def plain() -> Response:
        return Response(json.dumps({"kind": "json", "text": "héllo"}), media_type="application/json")

    @app.get("/binary")
    def binary() -> Response:
        return Response(BINARY, media_type="application/octet-stream")

    @app.get("/gzip")
    def gzipped() -> Response:
        return Response(GZIPPED, media_type="application/json", headers={"Content-Encoding": "gzip"})

    @app.post("/login")
    async def login(request: Request) -> Response:
        sent = await request.json()
        body = {"user": sent["user"], "access_token": "tok-from-server-777"}
        return Response(json.dumps(body), media_type="application/json")

    return app
