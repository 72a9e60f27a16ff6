"""What recording through hudproxy costs: p50/p99 added to a request, and recording 10,000 into JSON vs YAML.

Part 1 (latency): the upstream is the bare server (canned bytes), pinned to core 0; `hudproxy record` (reverse
mode, record mode `all`: every request forwarded and written before it is answered) also on core 0; wrk on
core 1 at one connection. mitmdump as a plain reverse proxy (no recording) separates mitmproxy's own cost.
Rows for a YAML and a JSON cassette.

Part 2 (volume): 10,000 requests from 4 keep-alive clients through `hudproxy record` into a `.yaml` and into a
`.json` cassette, timed from the first request to the process's exit after SIGTERM (so the JSON cassette's
one write at stop is counted); with the cassette's size and the recording log's just before the stop (bytes
written: JSON = log + cassette; YAML = log + the appended file + one copy at stop that drops the markers).

    python bench/record_overhead.py [--duration 5] [--volume 10000] [--no-latency] [--no-volume]
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from procs import HOST, free_port, running, start, stop, stop_all, verify, wait_port
from servers import _which, bare_argv
from traffic import Interaction, write_cassette, write_wrk_script
from wrkrun import measure

VOLUME_CLIENTS = 4


def record_argv(upstream: int, port: int, cassette: Path) -> list[str]:
    target = f"http://127.0.0.1:{upstream}"
    return [_which("hudproxy"), "record", "--target", target, "--cassette", str(cassette), "--port", str(port),
            "--record-mode", "all", "--no-journal"]  # fmt: skip


def mitm_argv(upstream: int, port: int, confdir: Path) -> list[str]:
    return [_which("mitmdump"), "-q", "--mode", f"reverse:http://127.0.0.1:{upstream}", "--listen-host",
            "127.0.0.1", "--listen-port", str(port), "--set", f"confdir={confdir}"]  # fmt: skip


def latency(up: int, work: Path, script: Path, interactions: list[Interaction], duration: int) -> dict[str, dict]:
    results: dict[str, dict[str, float]] = {"direct": measure(up, script, 1, duration, 1).as_dict()}
    proxies = {
        "mitmdump reverse proxy": lambda p: mitm_argv(up, p, work / "mitm"),
        "hudproxy record .yaml": lambda p: record_argv(up, p, work / "latency.yaml"),
        "hudproxy record .json": lambda p: record_argv(up, p, work / "latency.json"),
    }
    for name, argv in proxies.items():
        port = free_port()
        with running(argv(port), port, work / f"{name.replace(' ', '_')}.log"):
            verify(port, interactions)
            results[name] = measure(port, script, 1, duration, 1).as_dict()
    base = results["direct"]["p50_ms"]
    for name, figures in results.items():
        added = figures["p50_ms"] - base
        print(f"{name:24s} p50 {figures['p50_ms']:.3f} ms  p99 {figures['p99_ms']:.3f} ms  "
              f"req/s {figures['rps']:.0f}  added to p50: {added:+.3f} ms", flush=True)  # fmt: skip
    return results


def _send(port: int, interactions: Sequence[Interaction], count: int, failures: list[str]) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        for n in range(count):
            it = interactions[n % len(interactions)]
            headers = {"Accept": "*/*", **({"Content-Type": it.content_type} if it.content_type else {})}
            conn.request(it.method, it.target, body=it.body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"{it.method} {it.target} -> {response.status}")
    finally:
        conn.close()


def volume(up: int, work: Path, interactions: list[Interaction], total: int, suffix: str) -> dict[str, float]:
    cassette = work / f"volume{suffix}"
    log = cassette.with_name(cassette.name + ".log")
    port = free_port()
    proc = start(record_argv(up, port, cassette), work / f"volume{suffix}.out", core=0)
    try:
        wait_port(port, proc, work / f"volume{suffix}.out", 60)
        failures: list[str] = []
        share = total // VOLUME_CLIENTS
        clients = [threading.Thread(target=_send, args=(port, interactions, share, failures))
                   for _ in range(VOLUME_CLIENTS)]  # fmt: skip
        began = time.perf_counter()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        sent = time.perf_counter()
        peak_log = log.stat().st_size if log.exists() else 0
        proc.send_signal(signal.SIGTERM)
        proc.wait(300)
        ended = time.perf_counter()
    finally:
        stop(proc)
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    size = cassette.stat().st_size
    figures = {
        "requests": share * VOLUME_CLIENTS,
        "seconds_sending": round(sent - began, 2),
        "seconds_at_stop": round(ended - sent, 2),
        "seconds_total": round(ended - began, 2),
        "recorded_per_s": round(share * VOLUME_CLIENTS / (ended - began), 1),
        "cassette_mb": round(size / 1e6, 2),
        "log_mb_at_stop": round(peak_log / 1e6, 2),
    }
    print(f"record {figures['requests']} into {suffix:5s}: {figures['seconds_total']:.1f} s "
          f"({figures['seconds_sending']:.1f} s sending + {figures['seconds_at_stop']:.1f} s at stop), "
          f"{figures['recorded_per_s']:.0f}/s, cassette {figures['cassette_mb']} MB, "
          f"log {figures['log_mb_at_stop']} MB", flush=True)  # fmt: skip
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--volume", type=int, default=10_000, help="interactions recorded per format in part 2")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-volume", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="record-bench-") as tmp:
        work = Path(tmp)
        interactions = write_cassette(work / "traffic.json", args.requests)
        script = work / "traffic.lua"
        write_wrk_script(script, interactions)
        up = free_port()
        try:
            with running(bare_argv(work / "traffic.json", up), up, work / "bare.log"):
                verify(up, interactions)
                if not args.no_latency:
                    results["latency"] = latency(up, work, script, interactions, args.duration)
                if not args.no_volume:
                    figures = {s: volume(up, work, interactions, args.volume, s) for s in (".yaml", ".json")}
                    ratio = figures[".json"]["seconds_total"] / figures[".yaml"]["seconds_total"]
                    print(f"JSON / YAML recording time: {ratio:.2f} (target 0.8-1.2)")
                    results["volume"] = {**figures, "json_over_yaml": round(ratio, 2)}
        finally:
            stop_all()
    print(json.dumps(results, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
