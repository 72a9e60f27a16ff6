"""Make `browser.har`: a real headless Chromium loads a small local page, and the Network.* events it reports
over the Chrome DevTools protocol are assembled into HAR 1.2 the way DevTools' "Save all as HAR" does.

Why a script and not a hand-written file: the HAR importer must cope with what a browser really writes
(header case and order, HTTP/1.1 chunking, gzip already decoded, images as base64, cookies, timings).

Run: python tests/data/make_browser_har.py [-o tests/data/browser.har]
Needs Chromium (`apt-get install -y chromium` on Debian) and the `websockets` package.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import gzip
import itertools
import json
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import websockets

HERE = Path(__file__).parent
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
# Secrets the page sends and the server returns: the import test checks none of them survives.
SECRETS = ("sk-live-browser-secret-123", "AKIA-browser-key-999", "hunter2-browser", "tok-browser-777", "sid-cookie-555")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>shop</title></head>
<body><p>loading</p><script>
async function run() {
  const session = await fetch("/api/session").then(r => r.json());
  const auth = {"Authorization": "Bearer " + session.access_token};
  await fetch("/api/user?id=42&api_key=" + session.api_key, {headers: auth}).then(r => r.json());
  await fetch("/api/search", {method: "POST", headers: {...auth, "Content-Type": "application/json"},
    body: JSON.stringify({q: "blue mug", password: session.demo_password})}).then(r => r.json());
  await fetch("/api/report").then(r => r.json());
  await fetch("/img/dot.png").then(r => r.arrayBuffer());
  document.title = "done";
}
run();
</script></body></html>
"""


def png_dot() -> bytes:
    """A valid 1x1 PNG: binary bytes that must survive as base64 in the HAR."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00"))
        + chunk(b"IEND", b"")
    )


class Shop(BaseHTTPRequestHandler):
    """The page and its endpoints: plain JSON, a JSON echo of a POST, gzip JSON, and an image."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def send(self, status: int, body: bytes, content_type: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            self.send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/session":
            secrets = {"access_token": SECRETS[0], "api_key": SECRETS[1], "demo_password": SECRETS[2]}
            self.send(200, json.dumps(secrets).encode(), "application/json")
        elif path == "/api/user":
            body = json.dumps({"id": 42, "name": "Ada", "session_token": SECRETS[3]}).encode()
            cookie = ("Set-Cookie", f"sid={SECRETS[4]}; Path=/; HttpOnly")
            self.send(200, body, "application/json", (cookie, ("X-Request-Id", "req-1")))
        elif path == "/api/report":
            body = gzip.compress(json.dumps({"report": "daily", "total": 1234, "rows": [1, 2, 3]}).encode(), mtime=0)
            self.send(200, body, "application/json", (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")))
        elif path == "/img/dot.png":
            self.send(200, png_dot(), "image/png", (("Cache-Control", "no-store"),))
        else:
            self.send(404, b'{"error": "not found"}', "application/json")

    def do_POST(self) -> None:
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"query": data["q"], "results": ["blue mug", "blue cup"]}).encode()
        self.send(200, body, "application/json")


@contextmanager
def serving() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium(user_data: Path) -> Iterator[str]:
    """Headless Chromium; yields the browser's DevTools websocket URL."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    args = [binary, *FLAGS, f"--user-data-dir={user_data}", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        active = user_data / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start (is it installed? apt-get install -y chromium)")
            time.sleep(0.05)
        port, path = active.read_text().splitlines()[:2]
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


class DevTools:
    """A minimal CDP client: commands get their replies by id; events are kept in arrival order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.pending:
                self.pending.pop(message["id"]).set_result(message)
            elif "method" in message:
                self.events.append(message)

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        ident = next(self.ids)
        self.pending[ident] = asyncio.get_running_loop().create_future()
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.send(json.dumps(message))
        reply = await asyncio.wait_for(self.pending[ident], 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


async def capture(ws_url: str, page_url: str) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Load the page, wait until its script is done and the network is idle; events, bodies, browser version."""
    async with websockets.connect(ws_url, max_size=None) as ws:
        cdp = DevTools(ws)
        version = (await cdp.send("Browser.getVersion"))["product"]
        target = (await cdp.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        await cdp.send("Network.enable", {}, session)
        await cdp.send("Page.enable", {}, session)
        await cdp.send("Page.navigate", {"url": page_url}, session)
        await _wait_until_done(cdp, session)
        bodies = {}
        for request_id in _finished(cdp.events):
            bodies[request_id] = await cdp.send("Network.getResponseBody", {"requestId": request_id}, session)
        for event in cdp.events:
            sent = event["params"].get("request", {}) if event["method"] == "Network.requestWillBeSent" else {}
            if sent.get("hasPostData") and "postData" not in sent:
                got = await cdp.send("Network.getRequestPostData", {"requestId": event["params"]["requestId"]}, session)
                sent["postData"] = got["postData"]
        await cdp.send("Browser.close")
        cdp.reader.cancel()
        return cdp.events, bodies, version


def _finished(events: list[dict[str, Any]]) -> list[str]:
    return [e["params"]["requestId"] for e in events if e["method"] == "Network.loadingFinished"]


async def _wait_until_done(cdp: DevTools, session: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        title = await cdp.send("Runtime.evaluate", {"expression": "document.title"}, session)
        started = {e["params"]["requestId"] for e in cdp.events if e["method"] == "Network.requestWillBeSent"}
        ended = set(_finished(cdp.events)) | {
            e["params"]["requestId"] for e in cdp.events if e["method"] == "Network.loadingFailed"
        }
        if title["result"].get("value") == "done" and started and started <= ended:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the page did not finish loading in 30 s")


# ---------------------------------------------------------------- HAR assembly (as DevTools' HARWriter)


def iso(wall_time: float) -> str:
    return dt.datetime.fromtimestamp(wall_time, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pairs(headers: dict[str, str]) -> list[dict[str, str]]:
    """CDP joins repeated headers with newlines; HAR lists each one."""
    return [{"name": k, "value": v} for k, value in headers.items() for v in value.split("\n")]


def parse_headers_text(text: str) -> list[dict[str, str]]:
    """The raw response head, in wire order and case (`headersText` of responseReceivedExtraInfo)."""
    lines = text.split("\r\n")[1:]
    return [{"name": n.strip(), "value": v.strip()} for n, _, v in (line.partition(":") for line in lines) if n]


def cookies(headers: list[dict[str, str]], name: str) -> list[dict[str, str]]:
    out = []
    for header in headers:
        if header["name"].lower() == name:
            pieces = header["value"].split(";") if name == "cookie" else header["value"].split(";")[:1]
            out.extend({"name": k.strip(), "value": v.strip()} for k, _, v in (p.partition("=") for p in pieces))
    return out


def timings(response: dict[str, Any], total: float) -> dict[str, float]:
    t = response.get("timing") or {}

    def span(start: str, end: str) -> float:
        return round(t[end] - t[start], 3) if t.get(start, -1) >= 0 else -1

    send = span("sendStart", "sendEnd")
    wait = round(t.get("receiveHeadersEnd", 0) - t.get("sendEnd", 0), 3) if t else 0
    receive = round(max(total - t.get("receiveHeadersEnd", total), 0), 3)
    blocked = round(max(t.get("sendStart", 0) - max(t.get("connectEnd", -1), 0), 0), 3) if t else -1
    return {
        "blocked": blocked,
        "dns": span("dnsStart", "dnsEnd"),
        "ssl": span("sslStart", "sslEnd"),
        "connect": span("connectStart", "connectEnd"),
        "send": max(send, 0),
        "wait": max(wait, 0),
        "receive": receive,
    }


def entry(request_id: str, by_kind: dict[str, dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    sent, received = by_kind["Network.requestWillBeSent"], by_kind["Network.responseReceived"]
    req, resp = sent["request"], received["response"]
    sent_extra = by_kind.get("Network.requestWillBeSentExtraInfo", {})
    received_extra = by_kind.get("Network.responseReceivedExtraInfo", {})
    finished = by_kind["Network.loadingFinished"]
    req_headers = pairs(sent_extra.get("headers") or req["headers"])
    head_text = received_extra.get("headersText")
    resp_headers = (
        parse_headers_text(head_text) if head_text else pairs(received_extra.get("headers") or resp["headers"])
    )
    total = round((finished["timestamp"] - sent["timestamp"]) * 1000, 3)
    text = body["body"]
    size = len(base64.b64decode(text) if body["base64Encoded"] else text.encode())
    content: dict[str, Any] = {"size": size, "mimeType": resp.get("mimeType", ""), "text": text}
    if body["base64Encoded"]:
        content["encoding"] = "base64"
    head_size = len(head_text.encode("latin-1")) if head_text else -1
    wire_size = int(finished.get("encodedDataLength", 0))
    har_request: dict[str, Any] = {
        "method": req["method"],
        "url": req["url"],
        "httpVersion": resp.get("protocol", "http/1.1"),
        "headers": req_headers,
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(req["url"]).query, True)],
        "cookies": cookies(req_headers, "cookie"),
        "headersSize": -1,
        "bodySize": len(req.get("postData", "").encode()),
    }
    if "postData" in req:
        mime = next((h["value"] for h in req_headers if h["name"].lower() == "content-type"), "")
        har_request["postData"] = {"mimeType": mime, "text": req["postData"]}
    return {
        "_initiator": sent.get("initiator", {}).get("type", "other"),
        "_priority": req.get("initialPriority"),
        "_resourceType": sent.get("type", "Other").lower(),
        "cache": {},
        "connection": str(resp.get("connectionId", "")),
        "pageref": "page_1",
        "request": har_request,
        "response": {
            "status": resp["status"],
            "statusText": resp.get("statusText", ""),
            "httpVersion": resp.get("protocol", "http/1.1"),
            "headers": resp_headers,
            "cookies": cookies(resp_headers, "set-cookie"),
            "content": content,
            "redirectURL": next((h["value"] for h in resp_headers if h["name"].lower() == "location"), ""),
            "headersSize": head_size,
            "bodySize": wire_size - head_size if head_size >= 0 else -1,
            "_transferSize": wire_size,
            "_error": None,
        },
        "serverIPAddress": resp.get("remoteIPAddress", ""),
        "startedDateTime": iso(sent["wallTime"]),
        "time": total,
        "timings": timings(resp, total),
    }


def assemble(events: list[dict[str, Any]], bodies: dict[str, Any], version: str, page_url: str) -> dict[str, Any]:
    """One HAR entry per finished http(s) request, in the order the browser sent them."""
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for event in events:
        if event["method"].startswith("Network.") and "requestId" in event["params"]:
            grouped.setdefault(event["params"]["requestId"], {})[event["method"]] = event["params"]
    entries = [
        entry(rid, kinds, bodies[rid])
        for rid, kinds in grouped.items()
        if rid in bodies
        and "Network.requestWillBeSent" in kinds
        and "Network.responseReceived" in kinds
        and kinds["Network.requestWillBeSent"]["request"]["url"].startswith("http")
    ]
    started = entries[0]["startedDateTime"] if entries else iso(time.time())
    page = {"startedDateTime": started, "id": "page_1", "title": page_url, "pageTimings": {}}
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "hudproxy tests/data/make_browser_har.py (Chrome DevTools protocol)", "version": "1"},
            "browser": {"name": version.split("/")[0], "version": version.split("/")[-1]},
            "pages": [page],
            "entries": entries,
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=HERE / "browser.har")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="hudproxy-chromium-") as profile,
        serving() as url,
        chromium(Path(profile)) as ws_url,
    ):
        events, bodies, version = asyncio.run(capture(ws_url, url))
    har = assemble(events, bodies, version, url)
    args.output.write_text(json.dumps(har, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}: {len(har['log']['entries'])} entries from {version}")


if __name__ == "__main__":
    main()
