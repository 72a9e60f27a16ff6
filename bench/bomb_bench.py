"""One hostile session against the replay server while another session's GETs are timed (issue 14's numbers).

    python bench/bomb_bench.py                     # 10 s per scenario against `hudproxy` on PATH
    python bench/bomb_bench.py --quick             # 4 s per scenario
    python bench/bomb_bench.py --tree /work/main   # the same against another source tree, side by side

The server (`hudproxy replay CASSETTE`, journal on, as a user runs it) is pinned to core 0; the victim and the
attacker are separate processes (both where the OS puts them; the attacker builds its body
before timing starts). The victim sends `GET /s/victim/health` on one keep-alive connection, one every 10 ms, and
times each from the moment it was due (no coordinated omission: a 10 s stall is 10 s of
late requests, not one slow one). Scenarios, each after a fresh server start:

- `idle`: no attacker (the floor);
- `gzip-bomb`: the attacker posts a 254 KiB gzip body that inflates to 256 MiB, again and again;
- `brotli-bomb`: the same in brotli (a few hundred bytes for 256 MiB);
- `big-body`: 48 MiB of binary, under the 64 MiB limit, unmatched;
- `big-json`: 16 MiB of JSON, under the limit, unmatched (parsed to compare as data).

Reported per scenario: the victim's p50/p99/max latency in ms, its request count, what the attacker got
(statuses), and the server's peak RSS. Target (issue 14): the victim's p99 < 20 ms under the gzip bomb.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import procs
from servers import hudproxy_argv

BENCH_DIR = Path(__file__).resolve().parent
MIB = 1024 * 1024
INTERVAL_S = 0.01  # the victim's pace: 100 GETs a second
SCENARIOS = ("idle", "gzip-bomb", "brotli-bomb", "big-body", "big-json")
CASSETTE = """version: 1
interactions:
- request:
    method: GET
    uri: http://api.test/health
  response:
    status: {code: 200, message: OK}
    headers: {Content-Type: [application/json]}
    body: {string: '{"ok": true}'}
"""


def attack_body(scenario: str) -> tuple[bytes, dict[str, str]]:
    if scenario == "gzip-bomb":
        return gzip.compress(bytes(256 * MIB), 9), {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    if scenario == "brotli-bomb":
        import brotli

        return brotli.compress(bytes(256 * MIB), quality=5), {"Content-Encoding": "br"}
    if scenario == "big-body":
        return os.urandom(1024) * (48 * 1024), {"Content-Type": "application/octet-stream"}
    items = [{"id": n, "name": f"item-{n}", "tags": ["a", "b"], "price": n * 1.5} for n in range(230_000)]
    return json.dumps(items).encode(), {"Content-Type": "application/json"}


def attacker(port: int, scenario: str, seconds: float) -> None:
    """(A process of its own.) Post the scenario's body until time is up; print the statuses as JSON."""
    body, headers = attack_body(scenario)
    print("ready", flush=True)  # the body is built: timing starts now, not while compressing 256 MiB
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("POST", "/s/attacker/upload", body=body, headers=headers)
            statuses[str(conn.getresponse().status)] += 1
        except (OSError, http.client.HTTPException) as exc:
            statuses[type(exc).__name__] += 1
        finally:
            conn.close()
    print(json.dumps({"wire_bytes": len(body), "statuses": statuses}))


def victim(port: int, seconds: float) -> list[float]:
    """Latencies (ms) of GETs on one keep-alive connection, one every INTERVAL_S, each measured from when it was
    due (not when it went out): a server stalled for 10 s shows as 10 s of late requests, not as one slow one."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies: list[float] = []
    due = time.perf_counter()
    deadline = due + seconds
    while due < deadline:
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        started = due
        due += INTERVAL_S
        conn.request("GET", "/s/victim/health")
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"victim got {response.status}")
    conn.close()
    return latencies


def peak_rss(proc: subprocess.Popen[bytes], stop: threading.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], procs.group_rss_mb(proc.pid))
        time.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_scenario(cassette: Path, scenario: str, seconds: float, workdir: Path, journal: bool) -> dict[str, Any]:
    port = procs.free_port()
    argv = hudproxy_argv(
        cassette, port, ["--journal", str(workdir / f"{scenario}.db")] if journal else ["--no-journal"]
    )
    with procs.running(argv, port, workdir / f"{scenario}.log") as server:
        stop, peak = threading.Event(), [0.0]
        sampler = threading.Thread(target=peak_rss, args=(server, stop, peak), daemon=True)
        sampler.start()
        victim(port, 0.5)  # warm-up: first request, session creation
        attack = None
        if scenario != "idle":
            command = [sys.executable, __file__, "--attacker", str(port), scenario, str(seconds + 1)]
            attack = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            assert attack.stdout is not None and attack.stdout.readline().strip() == "ready"
            time.sleep(0.2)  # the first upload is on its way
        latencies = victim(port, seconds)
        attacked: dict[str, Any] = {}
        if attack is not None:
            out, _ = attack.communicate(timeout=300)
            attacked = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": "no output"}
        stop.set()
        sampler.join()
    return {
        "scenario": scenario,
        "victim_requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "attacker": attacked,
        "server_peak_rss_mb": round(peak[0], 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="4 s per scenario instead of 10")
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--no-journal", action="store_true", help="serve with --no-journal (what the journal costs)")
    p.add_argument("--tree", type=Path, default=None, help="run hudproxy from this source tree (PYTHONPATH)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results-bomb.json")
    p.add_argument("--attacker", nargs=3, metavar=("PORT", "SCENARIO", "SECONDS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.attacker:
        attacker(int(args.attacker[0]), args.attacker[1], float(args.attacker[2]))
        return
    if args.tree is not None:
        os.environ["PYTHONPATH"] = str(args.tree.resolve())
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: 1-minute load average {load:.1f}: other work on the cores skews every figure", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bomb-bench-") as tmp:
        workdir = Path(tmp)
        cassette = workdir / "health.yaml"
        cassette.write_text(CASSETTE)
        for scenario in args.scenarios.split(","):
            result = run_scenario(cassette, scenario, seconds, workdir, not args.no_journal)
            results.append(result)
            print(
                f"{scenario:12} victim p50 {result['p50_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms  "
                f"max {result['max_ms']:9.2f} ms  ({result['victim_requests']} GETs)  "
                f"attacker {result['attacker'].get('statuses', {})}  server peak RSS {result['server_peak_rss_mb']} MB",
                flush=True,
            )
    report = {"tree": str(args.tree or "PATH"), "journal": not args.no_journal, "seconds": seconds,
              "load_at_start": load, "results": results}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    try:
        main()
    finally:
        procs.stop_all()
