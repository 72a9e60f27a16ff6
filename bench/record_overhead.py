"""What recording through hudproxy adds to a request: p50/p99 latency direct vs through `hudproxy record`.

The upstream is the bare server (canned bytes), pinned to core 0; `hudproxy record` (reverse mode, record
mode `all`, so every request is forwarded and appended) also on core 0; wrk on core 1 at one connection.
Compare with mitmdump as a plain reverse proxy (no recording) to separate mitmproxy's own cost from hudproxy's.

    python bench/record_overhead.py [--duration 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from procs import free_port, running, stop_all, verify
from servers import _which, bare_argv
from traffic import write_cassette, write_wrk_script
from wrkrun import measure


def record_argv(upstream: int, port: int, cassette: Path) -> list[str]:
    target = f"http://127.0.0.1:{upstream}"
    return [_which("hudproxy"), "record", "--target", target, "--cassette", str(cassette), "--port", str(port),
            "--record-mode", "all"]  # fmt: skip


def mitm_argv(upstream: int, port: int, confdir: Path) -> list[str]:
    return [_which("mitmdump"), "-q", "--mode", f"reverse:http://127.0.0.1:{upstream}", "--listen-host",
            "127.0.0.1", "--listen-port", str(port), "--set", f"confdir={confdir}"]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="record-bench-") as tmp:
        work = Path(tmp)
        interactions = write_cassette(work / "traffic.json", args.requests)
        script = work / "traffic.lua"
        write_wrk_script(script, interactions)
        up = free_port()
        try:
            with running(bare_argv(work / "traffic.json", up), up, work / "bare.log"):
                verify(up, interactions)
                results["direct"] = measure(up, script, 1, args.duration, 1).as_dict()
                proxies = {
                    "mitmdump reverse proxy": lambda p: mitm_argv(up, p, work / "mitm"),
                    "hudproxy record": lambda p: record_argv(up, p, work / "recorded.yaml"),
                }
                for name, argv in proxies.items():
                    port = free_port()
                    with running(argv(port), port, work / f"{name.split()[0]}.log"):
                        verify(port, interactions)
                        results[name] = measure(port, script, 1, args.duration, 1).as_dict()
        finally:
            stop_all()
    base = results["direct"]["p50_ms"]
    for name, figures in results.items():
        added = figures["p50_ms"] - base
        print(f"{name:24s} p50 {figures['p50_ms']:.3f} ms  p99 {figures['p99_ms']:.3f} ms  "
              f"req/s {figures['rps']:.0f}  added to p50: {added:+.3f} ms")  # fmt: skip
    print(json.dumps(results, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
