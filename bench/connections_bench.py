"""Many connections: 10,000 concurrent keep-alive connections, one session each, on one `hudproxy replay` process.

The server (the fast path, journal on) runs pinned to core 0; this script is the client on core 1: it opens every
connection first, then sends an open-loop schedule of GETs at a fixed total rate (default 5,000 req/s), request
j on connection j mod N at t0 + j / rate, each under its own session (`/s/c<N>/...`). Latency is measured from
the scheduled send time, so a stalled server cannot hide its stall by slowing the client (no coordinated
omission). Any refused or dropped connection, non-200 answer, wrong body or unanswered request is an error.

    python bench/connections_bench.py [--connections 10000] [--rate 5000] [--duration 20] [--out FILE]

Both processes need more than 10,000 open files: `hudproxy replay` raises its soft limit to the hard one at start
(hudproxy.serving.raise_fd_limit); this script does the same for itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httptools
import uvloop
from procs import HOST, BenchError, free_port, group_rss_mb, running, verify
from servers import hudproxy_argv
from traffic import Interaction, write_cassette

CLIENT_CORE = 1
CONNECT_BATCH = 500  # connections opened at once (the listen backlog is 4,096)


@dataclass
class Tally:
    """What the client saw."""

    connected: int = 0
    connect_errors: int = 0
    sent: int = 0
    answered: int = 0
    wrong: int = 0  # non-200 or a body other than the recorded one
    dropped: int = 0  # requests whose connection closed before their answer
    latencies_ms: list[float] = field(default_factory=list)


class Client(asyncio.Protocol):
    """One keep-alive connection: requests go out on schedule (pipelined if the last is still pending), and
    answers come back in order."""

    def __init__(self, tally: Tally, loop: asyncio.AbstractEventLoop) -> None:
        self.tally = tally
        self.loop = loop
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: list[tuple[float, bytes]] = []  # (scheduled time, expected body), oldest first
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, raw: bytes, scheduled: float, expected: bytes) -> None:
        if self.closed or self.transport is None:
            self.tally.dropped += 1
            return
        self.pending.append((scheduled, expected))
        self.transport.write(raw)
        self.tally.sent += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.tally.wrong += 1
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        scheduled, expected = self.pending.pop(0)
        self.tally.answered += 1
        self.tally.latencies_ms.append((self.loop.time() - scheduled) * 1000)
        if self.parser.get_status_code() != 200 or b"".join(self.body) != expected:
            self.tally.wrong += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.tally.dropped += len(self.pending)
        self.pending.clear()


def raise_own_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        raise BenchError(f"the hard open-file limit is {hard}: {needed} connections need more (ulimit -Hn)")
    return hard


def requests_for(sample: list[Interaction], session: str) -> list[tuple[bytes, bytes]]:
    """(raw request, expected body) for each GET of the sample, under the session's path prefix."""
    return [
        (
            f"GET /s/{session}{it.target} HTTP/1.1\r\nHost: {HOST}\r\nAccept: */*\r\n\r\n".encode(),
            it.response_body.encode(),
        )
        for it in sample
        if it.method == "GET"
    ]


async def connect_all(port: int, count: int, tally: Tally) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []

    async def one() -> Client | None:
        try:
            _, protocol = await asyncio.wait_for(loop.create_connection(lambda: Client(tally, loop), HOST, port), 30)
        except (TimeoutError, OSError):
            tally.connect_errors += 1
            return None
        tally.connected += 1
        return protocol

    for start in range(0, count, CONNECT_BATCH):
        batch = await asyncio.gather(*(one() for _ in range(min(CONNECT_BATCH, count - start))))
        clients += [c for c in batch if c is not None]
    return clients


async def drive(
    clients: list[Client], per_client: list[list[tuple[bytes, bytes]]], rate: float, duration: float
) -> float:
    """Send the open-loop schedule; returns the achieved send rate."""
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    start = loop.time() + 0.1
    sent = 0
    while sent < total:
        now = loop.time()
        while sent < total and start + sent / rate <= now:
            k = sent % len(clients)
            raw, expected = per_client[k][(sent // len(clients)) % len(per_client[k])]
            clients[k].send(raw, start + sent / rate, expected)
            sent += 1
        await asyncio.sleep(0.0005)
    return total / (loop.time() - start)


async def settle(clients: list[Client], timeout: float) -> int:
    """Wait for the answers still due; returns how many never came."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and any(c.pending for c in clients):
        await asyncio.sleep(0.05)
    return sum(len(c.pending) for c in clients)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def session_count(port: int) -> int:
    with urllib.request.urlopen(f"http://{HOST}:{port}/_hudproxy/sessions", timeout=60) as answer:
        return len(json.loads(answer.read()))


def server_fd_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return " / ".join(line.split()[3:5])
    return "?"


async def measure(port: int, sample: list[Interaction], args: argparse.Namespace) -> dict[str, object]:
    tally = Tally()
    started = time.perf_counter()
    clients = await connect_all(port, args.connections, tally)
    connect_s = time.perf_counter() - started
    if not clients:
        raise BenchError("no connection could be opened")
    per_client = [
        requests_for(sample[k % len(sample) :] + sample[: k % len(sample)], f"c{k}") for k in range(len(clients))
    ]
    # one request on every connection first: all sessions exist before the timed schedule starts
    achieved_warm = await drive(clients, per_client, args.rate, len(clients) / args.rate)
    await settle(clients, 30)
    tally.latencies_ms.clear()
    achieved = await drive(clients, per_client, args.rate, args.duration)
    unanswered = await settle(clients, 30)
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    return {
        "connect_s": round(connect_s, 2),
        "warm_rate": round(achieved_warm),
        "achieved_rate": round(achieved),
        "unanswered": unanswered,
        **{k: v for k, v in asdict(tally).items() if k != "latencies_ms"},
        "p50_ms": round(percentile(tally.latencies_ms, 50), 2),
        "p99_ms": round(percentile(tally.latencies_ms, 99), 2),
        "max_ms": round(max(tally.latencies_ms, default=float("nan")), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5_000.0, help="requests per second, all connections together")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of the timed schedule")
    parser.add_argument("--server", default="fast", help="hudproxy replay --server: fast or asgi")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "connections.json")
    args = parser.parse_args(argv)
    raise_own_fd_limit(args.connections + 100)
    os.sched_setaffinity(0, {CLIENT_CORE})
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="conn-bench-"))
    try:
        sample = write_cassette(workdir / "cassette.json", 500)
        port = free_port()
        argv_ = hudproxy_argv(
            workdir / "cassette.json", port, ["--journal", str(workdir / "j.db"), "--server", args.server]
        )
        with running(argv_, port, workdir / "server.log", 120) as proc:
            verify(port, sample[:20])
            result = uvloop.run(measure(port, sample, args))
            result["sessions_on_server"] = session_count(port)
            result["server_rss_mb"] = round(group_rss_mb(os.getpgid(proc.pid)))
            result["server_fd_limit"] = server_fd_limit(proc.pid)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    errors = result["connect_errors"] + result["wrong"] + result["dropped"] + result["unanswered"]
    result = {"connections": args.connections, "rate": args.rate, "duration_s": args.duration, "server": args.server,
              "load_average_at_end": round(os.getloadavg()[0], 2), **result, "errors": errors}  # fmt: skip
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.out}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
