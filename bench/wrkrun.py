"""Run wrk pinned to its own core and parse what it prints.

One wrk thread (``-t1``) at every concurrency: wrk gets a single core, so a second thread would only
time-share it, and one thread already drives far more than any server here can answer (≥ 165,000 req/s on
this machine).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from procs import HOST, BenchError

WRK_CORE = 1
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles and anything that went wrong on the wire."""

    connections: int
    duration_s: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    runs_rps: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the JSON report."""
        return asdict(self)


def measure(port: int, script: Path, connections: int, duration_s: int, warmup_s: int, runs: int = 1) -> WrkResult:
    """Warm up once, then ``runs`` measured runs; the run with the median req/s stands (noise)."""
    run_wrk(port, script, connections, warmup_s)
    results = sorted((run_wrk(port, script, connections, duration_s) for _ in range(runs)), key=lambda r: r.rps)
    return replace(results[(len(results) - 1) // 2], runs_rps=tuple(r.rps for r in results))


def run_wrk(port: int, script: Path, connections: int, duration_s: int, threads: int = 1) -> WrkResult:
    """Run wrk for ``duration_s`` seconds at ``connections`` concurrent connections (bounded by a timeout)."""
    return parse_wrk(wrk_output(port, script, connections, duration_s, threads), connections, duration_s)


def wrk_output(port: int, script: Path, connections: int, duration_s: int, threads: int = 1) -> str:
    """wrk's own output for one run pinned to its core; a hang or a failure is a BenchError."""
    argv = [
        "taskset",
        "-c",
        str(WRK_CORE),
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{port}/",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {duration_s + 30} s") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk exited {done.returncode}: {done.stderr.strip()[:300]}")
    return done.stdout


def parse_wrk(text: str, connections: int, duration_s: int) -> WrkResult:
    """Pull req/s, p50, p99, request count, non-2xx and socket errors out of ``wrk --latency`` output."""
    percentiles = {float(p): float(v) * _UNITS_MS[u] for p, v, u in _PERCENTILE.findall(text)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if rps is None or total is None or 50.0 not in percentiles or 99.0 not in percentiles:
        raise BenchError(f"could not parse wrk output: {text.strip()[:300]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(
        connections=connections,
        duration_s=duration_s,
        rps=float(rps.group(1)),
        p50_ms=percentiles[50.0],
        p99_ms=percentiles[99.0],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )
