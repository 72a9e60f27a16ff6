"""Replayed MCP `tools/call` throughput over streamable HTTP vs the same calls against a live `mcp` SDK server.

The live server (bench/mcp_live_server.py) is an `MCPServer` whose tools return constant dicts, served by
uvicorn via `streamable_http_app()`; the client side is the modern protocol era (2026-07-28): one
self-contained POST per call, no session. Steps:

1. capture: the SDK `Client(url, cache=None)` calls the tools through a byte-level tap (bench/wiretap.py) in
   front of the live server, so the load uses exactly the headers and JSON-RPC body the SDK sends;
2. the live server answers each captured call once (checked, one printed), then wrk measures it;
3. record: the same SDK client calls the tools through `hudproxy record --mcp-url ...`; the live server stops;
4. `hudproxy replay CASSETTE --no-journal` (and with the journal) answers each call once with the live result
   (checked, one printed), then wrk measures it. These calls take hudproxy's MCP fast path
   (hudproxy/mcp/fastpath.py), not the SDK's session manager and Server.

wrk's Lua script POSTs the captured requests (ids renumbered) and counts every answer whose body lacks
`"isError":false`: MCP errors come back as HTTP 200, which wrk's non-2xx count would not see. Servers on core 0,
wrk on core 1, loopback only. See bench/README.md.

    python bench/mcp_bench.py [--quick] [--runs 3] [--out bench/results-mcp.json]
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import anyio
import benchkit as kit
from procs import HOST, BenchError, free_port, running, stop
from servers import BENCH_DIR, _which, hudproxy_argv
from wiretap import Captured, Tap

LIVE = "live mcp SDK server"
REPLAY_NJ, REPLAY_J = "hudproxy replay --no-journal", "hudproxy replay (journal)"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_quote", {"symbol": "ACME"}),
    ("get_status", {}),
    ("get_quote", {"symbol": "GLOBEX"}),
    ("get_quote", {"symbol": "INITECH"}),
]
MARKER = '"isError":false'  # in every correct answer's raw body; counted by the wrk script
SKIP_HEADERS = {"host", "content-length"}  # wrk.format sets both (Host: the server wrk targets)


@dataclass(frozen=True)
class Row:
    """One request of the load: a captured SDK tools/call POST, its JSON-RPC id renumbered."""

    key: str  # tool name + arguments, canonical
    id: int
    path: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def lua(self) -> kit.LuaRequest:
        return kit.LuaRequest("POST", self.path, self.headers, self.body)


def call_key(name: str, arguments: dict[str, Any]) -> str:
    return f"{name} {json.dumps(arguments, sort_keys=True)}"


async def drive_client(url: str, calls: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """What an agent does: the SDK client (modern era by default; cache off, so every call hits the wire)."""
    from mcp import Client

    with anyio.fail_after(60):
        async with Client(url, cache=None) as client:
            results = [await client.call_tool(name, args) for name, args in calls]
            return {
                "protocol_version": client.protocol_version,
                "results": [r.model_dump(by_alias=True, mode="json", exclude_none=True) for r in results],
            }


def run_client(url: str, calls: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """``drive_client`` to completion; any failure of the SDK client becomes a reported BenchError."""
    try:
        return anyio.run(drive_client, url, calls)
    except Exception as exc:  # the SDK raises ExceptionGroups, httpx2 errors, TimeoutError...
        raise BenchError(f"the SDK client failed against {url}: {exc!r}"[:400]) from exc


def rows_from_capture(captured: Sequence[Captured], per_call: int) -> list[Row]:
    """The distinct tools/call POSTs the SDK sent, each repeated ``per_call`` times with fresh ids."""
    distinct: dict[str, Captured] = {}
    for request in captured:
        if request.method == "POST" and request.header("mcp-method") == "tools/call":
            params = json.loads(request.body)["params"]
            distinct.setdefault(call_key(params["name"], params.get("arguments") or {}), request)
    if not distinct:
        raise BenchError("the tap saw no tools/call POST from the SDK client")
    rows = []
    next_id = 1000
    for _ in range(per_call):
        for key, request in distinct.items():
            rows.append(Row(key, next_id, request.target, _headers(request), renumber(request.body.decode(), next_id)))
            next_id += 1
    return rows


def _headers(request: Captured) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in request.headers if k.lower() not in SKIP_HEADERS)


def renumber(body: str, new_id: int) -> str:
    """The same bytes with the top-level JSON-RPC id replaced (the SDK's compact encoding is kept)."""
    original = json.loads(body)
    out = re.sub(r'"id":\s*\d+', f'"id":{new_id}', body, count=1)
    if json.loads(out) != {**original, "id": new_id}:
        raise BenchError(f"could not renumber the JSON-RPC id in {body[:120]!r}")
    return out


def post(port: int, row: Row, timeout_s: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One captured POST, as the SDK sent it (Host is this server's address, as for wrk)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        conn.request("POST", row.path, body=row.body.encode(), headers=dict(row.headers))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def check_answer(row: Row, status: int, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    """200, a plain JSON answer (wrk cannot follow an SSE stream), the row's id, a tool result that is no error."""
    content_type = headers.get("content-type", "")
    if status != 200:
        raise BenchError(f"{row.key} -> HTTP {status}: {raw[:200]!r}")
    if not content_type.startswith("application/json") or headers.get("content-encoding"):
        raise BenchError(f"{row.key} -> {content_type} {headers.get('content-encoding', '')}: wrk cannot check this")
    message = json.loads(raw)
    result = message.get("result")
    if message.get("id") != row.id or not isinstance(result, dict) or result.get("isError") is not False:
        raise BenchError(f"{row.key} -> not a successful result for id {row.id}: {raw[:300]!r}")
    if MARKER.encode() not in raw:
        raise BenchError(f"{row.key}: the answer lacks {MARKER!r}, which the wrk script counts on: {raw[:200]!r}")
    return result


def agent_view(result: dict[str, Any]) -> dict[str, Any]:
    """What an agent reads from a tool result (era stamps such as `_meta` and `resultType` left aside)."""
    return {k: result.get(k) for k in ("content", "structuredContent", "isError")}


class McpBench:
    def __init__(self, run: kit.Run, per_call: int) -> None:
        self.run = run
        self.work = run.workdir
        self.per_call = per_call
        self.cassette = self.work / "mcp.yaml"
        self.script = self.work / "mcp.lua"
        self.rows: list[Row] = []
        self.expected: dict[str, dict[str, Any]] = {}
        run.report["machine"]["versions"]["mcp"] = _version("mcp")

    def ready(self) -> float:
        return float(self.run.report["config"]["ready_timeout"])

    def __call__(self, run: kit.Run) -> None:
        port = free_port()
        argv = [sys.executable, str(BENCH_DIR / "mcp_live_server.py"), "--port", str(port), "--host", HOST]
        print(f"{LIVE}: starting on port {port}", flush=True)
        with running(argv, port, self.work / "live.log", self.ready()) as live:
            self.capture(port)
            run.attempt(LIVE, lambda: self.measure(LIVE, port, live.pid))
            self.record(port)
        # the live server is stopped: replay answers alone
        for name, extra in ((REPLAY_NJ, ["--no-journal"]), (REPLAY_J, ["--journal", str(self.work / "journal.db")])):
            run.attempt(name, lambda n=name, e=extra: self.replay(n, e))
        for replay in (REPLAY_NJ, REPLAY_J):
            run.ratio(replay, LIVE, "rps", target=">= 5")
            run.ratio(replay, LIVE, "p50")
            run.ratio(replay, LIVE, "cpu")
        run.ratio(REPLAY_J, REPLAY_NJ, "rps", label="replay: journal on / off req/s @32")
        run.ratio(REPLAY_J, REPLAY_NJ, "cpu", label="replay: journal on / off CPU µs/req @32")
        for replay in (REPLAY_NJ, REPLAY_J):
            self.headline(replay)

    def headline(self, replay: str) -> None:
        """The issue's figure in one line: the req/s ratio @32 with the p50 @1 of both sides next to it."""
        fast, live = self.run.row(replay, kit.HIGH), self.run.row(LIVE, kit.HIGH)
        fast1, live1 = self.run.row(replay, kit.LOW), self.run.row(LIVE, kit.LOW)
        if not (fast and live and fast1 and live1 and live["rps"]):
            return
        self.run.note(
            f"{replay}: {fast['rps'] / live['rps']:.1f}x the live server's req/s @{kit.HIGH} "
            f"({fast['rps']:,.0f} vs {live['rps']:,.0f}); p50 @{kit.LOW} {fast1['p50_ms']:.3f} ms "
            f"(live {live1['p50_ms']:.3f} ms)"
        )

    def capture(self, port: int) -> None:
        """The SDK client through the tap: the exact requests it sends for tools/call."""
        with Tap(port) as tap:
            seen = run_client(f"http://{HOST}:{tap.port}/mcp", CALLS)
        captured = tap.requests()
        self.rows = rows_from_capture(captured, self.per_call)
        kit.write_lua(self.script, [r.lua() for r in self.rows], expect=MARKER)
        sample = self.rows[0]
        self.run.report["extra"].update(
            {
                "client_protocol_version": seen["protocol_version"],
                "client_methods": [c.header("mcp-method") for c in captured],
                "sample_request": {"path": sample.path, "headers": dict(sample.headers), "body": sample.body},
                "rows": len(self.rows),
            }
        )
        print(
            f"captured {len(captured)} SDK requests (era {seen['protocol_version']}): "
            f"{', '.join(str(c.header('mcp-method')) for c in captured)}",
            flush=True,
        )
        print(f"sample tools/call request: POST {sample.path}", flush=True)
        for k, v in sample.headers:
            print(f"  {k}: {v}")
        print(f"  body: {sample.body}", flush=True)

    def verify(self, name: str, port: int) -> None:
        """Every row once: a correct result, and (for replay) the same result the live server gave."""
        for k, row in enumerate(self.rows):
            status, headers, raw = post(port, row)
            result = check_answer(row, status, headers, raw)
            if k == 0:
                print(f"{name}: answer to the sample: HTTP {status} {headers.get('content-type')}\n  {raw.decode()}")
                self.run.report["extra"].setdefault("sample_answers", {})[name] = raw.decode()
            expected = self.expected.setdefault(row.key, agent_view(result))
            if agent_view(result) != expected:
                raise BenchError(f"{name}: {row.key} -> {agent_view(result)}, expected {expected}")

    def measure(self, name: str, port: int, pid: int) -> None:
        self.verify(name, port)
        for conns in (kit.LOW, kit.HIGH):
            self.run.measure(name, port, self.script, conns, pid=pid)

    def record(self, live_port: int) -> None:
        """The SDK client through `hudproxy record --mcp-url`; SIGINT so it reports and closes the cassette."""
        port = free_port()
        argv = [
            _which("hudproxy"),
            "record",
            "--mcp-url",
            f"http://{HOST}:{live_port}/mcp",
            "--cassette",
            str(self.cassette),
            "--port",
            str(port),
            "--host",
            HOST,
        ]
        print(f"recording through hudproxy on port {port}", flush=True)
        log = self.work / "record.log"
        with running(argv, port, log, self.ready(), core=None) as proc:
            run_client(f"http://{HOST}:{port}/mcp", CALLS)
            stop(proc, sig=signal.SIGINT)
        text = self.cassette.read_text() if self.cassette.exists() else ""
        if "tools/call" not in text:
            raise BenchError(f"hudproxy recorded no tools/call: {log.read_text()[-300:]}")

    def replay(self, name: str, extra: list[str]) -> None:
        port = free_port()
        print(f"{name}: starting on port {port}", flush=True)
        log = self.work / f"{''.join(c if c.isalnum() else '-' for c in name)}.log"
        with running(hudproxy_argv(self.cassette, port, extra), port, log, self.ready()) as proc:
            self.measure(name, port, proc.pid)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    p = kit.parser(__doc__, "mcp")
    p.add_argument("--per-call", type=int, default=25, help="copies of each distinct call in the wrk script")
    args = p.parse_args(argv)
    t = kit.timing(args)
    run = kit.Run("mcp-bench", kit.config_dict(args, t), args.out, args.keep, t)
    return run.main(lambda r: McpBench(r, args.per_call)(r))


if __name__ == "__main__":
    sys.exit(main())
