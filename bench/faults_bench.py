"""What a faults file costs the calls it does not fault: `hudproxy replay` with and without `--faults` (100 rules,
none matching the traffic) side by side, same cassette, same wrk script, same machine. Target: < 5% of req/s.

The rules are a near miss on purpose: half share the traffic's `/items/<n>` prefix (`GET /items/<n>/reviews`),
the rest match other methods and paths with globs, nth and probabilities, so every request runs the prefilter
to its end. The two servers alternate, `--rounds` times each, in ABBA order (load drifts on a shared machine);
the medians stand. Each server runs pinned to core 0 and wrk to core 1, over loopback only.

Two figures per server: req/s, and the server's CPU time per request (user + system of its processes, over the
measured run).
On a machine other work shares, req/s swings with that work; CPU per request much less, and on a core of its own
a server's throughput is 1 / CPU per request, so the verdict is on CPU per request (both are printed).

A third figure, steadier still: in one process, the replay service's `answer()` for the same requests with and
without the rules, in 40 short alternating rounds each; the fastest round of each (the one least disturbed by
other work) gives the decision's cost per call, shown as a share of the server's CPU per request. The verdict
stands on it; the end-to-end figures are printed beside it, with their spread.

    python bench/faults_bench.py [--duration 5] [--rounds 3] [--rules 100] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import group_cpu_s
from procs import free_port, running, stop_all, verify
from servers import hudproxy_argv
from traffic import Interaction, write_cassette, write_wrk_script
from wrkrun import WrkResult, run_wrk

TARGET_OVERHEAD = 0.05


def faults_file(path: Path, count: int) -> Path:
    """`count` rules none of which matches the bench traffic (`GET|POST /items/<n>?page=...`)."""
    rules: list[dict[str, Any]] = []
    for n in range(count):
        if n % 2 == 0:
            rule: dict[str, Any] = {"match": {"method": "GET", "path": f"/items/{n}/reviews"}, "nth": [1, 3]}
        elif n % 4 == 1:
            rule = {"match": {"method": ["PUT", "DELETE"], "path": f"/items/{n}"}, "probability": 0.5}
        else:
            rule = {"match": {"method": "POST", "path": f"/orders/*/refund-{n}/**"}, "times": 2}
        rule["name"] = f"rule-{n}"
        rule["fault"] = {"kind": "status", "status": 503} if n % 3 else {"kind": "reset"}
        rules.append(rule)
    path.write_text(json.dumps({"seed": 1, "rules": rules}))  # JSON is YAML: the faults file as users write it
    return path


def measured(pid: int, port: int, script: Path, args: argparse.Namespace) -> tuple[WrkResult, float]:
    """A warm-up, then one measured wrk run and the CPU seconds the server's processes (the journal's worker
    too) spent over it."""
    run_wrk(port, script, args.connections, args.warmup)
    before = group_cpu_s(pid)
    result = run_wrk(port, script, args.connections, args.duration)
    return result, group_cpu_s(pid) - before


def in_process(cassette: Path, rules: Path, interactions: list[Interaction], rounds: int, calls: int) -> dict:
    """Microseconds per `ReplayService.answer` call with and without the rules: fastest and median of alternating
    rounds."""
    from hudproxy.faults import load_faults
    from hudproxy.interaction.model import Request
    from hudproxy.replay.server import build_service

    service, plan = build_service(cassette), load_faults(rules)
    requests = []
    for it in interactions:
        path, _, query = it.target.partition("?")
        headers = (("Accept", "*/*"), *((("Content-Type", it.content_type),) if it.content_type else ()))
        requests.append(Request.from_parts(it.method, "http", "127.0.0.1:9999", path, query, headers,
                                           (it.body or "").encode()))  # fmt: skip

    async def timed() -> float:
        started = time.perf_counter()
        for n in range(calls):
            _, outcome = await service.answer("bench", requests[n % len(requests)])
            if not outcome.matched or outcome.fault is not None:
                raise SystemExit(f"{requests[n % len(requests)].describe()}: not answered by its recording")
        return (time.perf_counter() - started) / calls * 1e6

    async def alternate() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {"calm": [], "faults": []}
        for round_number in range(rounds):
            for name in ("calm", "faults") if round_number % 2 else ("faults", "calm"):
                service.faults = plan if name == "faults" else None
                found[name].append(await timed())
        return found

    found = asyncio.run(alternate())
    return {
        **{name: min(values) for name, values in found.items()},
        "median": {name: statistics.median(values) for name, values in found.items()},
        "rounds_us": found,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each server; medians stand")
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="distinct recorded requests")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--calls", type=int, default=4_000, help="answer() calls per in-process round")
    args = parser.parse_args()
    figures: dict[str, list[float]] = {"calm": [], "faults": []}
    cpu_us: dict[str, list[float]] = {"calm": [], "faults": []}
    with tempfile.TemporaryDirectory(prefix="faults-bench-") as tmp:
        work = Path(tmp)
        cassette = work / "cassette.json"
        interactions = write_cassette(cassette, args.requests)
        script = work / "requests.lua"
        write_wrk_script(script, interactions)
        rules = faults_file(work / "faults.yaml", args.rules)
        variants = {"calm": [], "faults": ["--faults", str(rules)]}
        micro = in_process(cassette, rules, interactions, 40, args.calls)
        try:
            for round_number in range(1, args.rounds + 1):
                order = list(variants.items()) if round_number % 2 else list(reversed(variants.items()))
                for name, extra in order:
                    port = free_port()
                    argv = hudproxy_argv(cassette, port, [*extra, "--journal", str(work / f"{name}.db")])
                    with running(argv, port, work / f"{name}.log") as server:
                        verify(port, interactions)  # every request answered 200 with its recording: no fault fired
                        result, cpu = measured(server.pid, port, script, args)
                    figures[name].append(result.rps)
                    cpu_us[name].append(cpu / max(result.requests, 1) * 1e6)
                    print(f"round {round_number} {name:6s}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.3f} ms, "
                          f"{cpu_us[name][-1]:.1f} us CPU/request"
                          + (f"  ({result.non_2xx} non-2xx!)" if result.non_2xx else ""), flush=True)  # fmt: skip
        finally:
            stop_all()
    calm, faulted = statistics.median(figures["calm"]), statistics.median(figures["faults"])
    calm_cpu, faulted_cpu = statistics.median(cpu_us["calm"]), statistics.median(cpu_us["faults"])
    lost, end_to_end = 1 - faulted / calm, faulted_cpu / calm_cpu - 1
    added = micro["faults"] - micro["calm"]
    overhead = added / calm_cpu
    verdict = "met" if overhead < TARGET_OVERHEAD else "NOT met"

    def spread(values: list[float]) -> str:
        return f"{min(values):,.1f}-{max(values):,.1f}"

    print(f"median req/s: calm {calm:,.0f} ({spread(figures['calm'])}), {args.rules} unmatched rules {faulted:,.0f} "
          f"({spread(figures['faults'])}): {lost:+.1%} lost")  # fmt: skip
    print(f"median CPU per request: calm {calm_cpu:.1f} us ({spread(cpu_us['calm'])}), {args.rules} unmatched rules "
          f"{faulted_cpu:.1f} us ({spread(cpu_us['faults'])}): {end_to_end:+.1%}")  # fmt: skip
    print(f"in process, answer() (fastest of 40 rounds): calm {micro['calm']:.2f} us, {args.rules} unmatched rules "
          f"{micro['faults']:.2f} us: {added:+.2f} us a call = {overhead:+.1%} of the server's {calm_cpu:.0f} us "
          f"CPU per request (target < {TARGET_OVERHEAD:.0%}: {verdict})")  # fmt: skip
    summary = {"config": vars(args), "rps": figures, "cpu_us_per_request": cpu_us,
               "median": {"calm_rps": calm, "faults_rps": faulted, "calm_cpu_us": calm_cpu,
                          "faults_cpu_us": faulted_cpu},
               "rps_lost": round(lost, 4), "cpu_end_to_end": round(end_to_end, 4), "overhead": round(overhead, 4),
               "target_met": overhead < TARGET_OVERHEAD, "in_process_us": micro}  # fmt: skip
    print(json.dumps(summary, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
