"""Replay servers side by side on this machine: the raw uvloop ceiling, the bare uvicorn ASGI floor, mitmdump
--server-replay, and hudproxy (the fast path, --no-journal, and --server asgi).

Each server runs pinned to core 0 and wrk to core 1, over loopback only. Every server must first answer every
recorded request with 200 and the recorded body, so error pages are never benchmarked. See bench/README.md.

    python bench/replay_bench.py [--quick] [--duration 10] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

import report as rep
import scale
from procs import BenchError, children, cpu_seconds, free_port, running, stop_all, verify
from servers import (
    bare_argv,
    hudproxy_argv,
    hudproxy_variants,
    mitm_replay_argv,
    raw_argv,
    record_with_mitmdump,
)
from traffic import Interaction, check_roundtrip, write_cassette, write_wrk_script
from wrkrun import WrkResult, run_wrk
from wrkrun import measure as measure_wrk

SERVERS = ("raw", "bare", "mitmdump", "hudproxy")
LOW, HIGH = 1, 32  # concurrencies: latency at 1 connection, throughput at 32


@dataclass(frozen=True)
class Config:
    """Everything that shapes a run; saved in the JSON report next to the figures."""

    quick: bool
    duration_s: int
    warmup_s: int
    runs: int
    requests: int
    scale_n: int
    servers: tuple[str, ...]
    scale: bool
    load_timeout_s: float
    ready_timeout_s: float
    keep: bool
    out: Path
    interleave: bool = False


def parse_args(argv: Sequence[str] | None = None) -> Config:
    """Command line -> Config; ``--quick`` changes only the defaults, explicit values still win."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 s runs, 1 s warm-up, 10,000 for scale",
    )
    p.add_argument(
        "--duration",
        type=int,
        help="seconds per measured wrk run (default 10, quick 3)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        help="seconds of warm-up before each run (default 2, quick 1)",
    )
    p.add_argument("--runs", type=int, default=1, help="measured runs per cell; the median req/s stands")
    p.add_argument(
        "--requests",
        type=int,
        default=500,
        help="distinct recorded requests (default 500)",
    )
    p.add_argument(
        "--scale-n",
        type=int,
        help="interactions in the large scale cassette (default 100,000, quick 10,000)",
    )
    p.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help="comma list out of raw,bare,mitmdump,hudproxy",
    )
    p.add_argument("--no-scale", action="store_true", help="skip the scale and load-time test")
    p.add_argument(
        "--load-timeout",
        type=float,
        default=900.0,
        help="seconds a server may take to load",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp dir (cassettes, scripts, server logs)",
    )
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    p.add_argument(
        "--interleave",
        action="store_true",
        help="start every server at once and measure them back to back in each of --runs rounds (a busy machine)",
    )
    a = p.parse_args(argv)
    servers = tuple(s.strip() for s in a.servers.split(",") if s.strip())
    if unknown := set(servers) - set(SERVERS):
        p.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if min(a.runs, a.requests, a.duration or 1, a.warmup or 1, a.scale_n or 1) < 1:
        p.error("--runs, --requests, --duration, --warmup and --scale-n must be at least 1")
    return Config(
        quick=a.quick,
        duration_s=a.duration or (3 if a.quick else 10),
        warmup_s=a.warmup or (1 if a.quick else 2),
        runs=a.runs,
        requests=a.requests,
        scale_n=a.scale_n or (10_000 if a.quick else 100_000),
        servers=servers,
        scale=not a.no_scale,
        load_timeout_s=a.load_timeout,
        ready_timeout_s=120.0,
        keep=a.keep,
        out=a.out,
        interleave=a.interleave,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section, always kill the servers, always write what was measured."""
    cfg = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # no "hudproxy" in the path: a `pkill -f hudproxy` elsewhere would also hit the bare server's argv
    workdir = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    report = rep.new_report({k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()})
    _warn_if_busy()
    code = 0
    try:
        run(cfg, workdir, report)
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured so far", file=sys.stderr)
        code = 130
    finally:
        stop_all()
        _cleanup(workdir, cfg.keep)
    rep.compute_ratios(report, LOW, HIGH)
    rep.print_report(report)
    rep.save(report, cfg.out)
    print(f"results written to {cfg.out}")
    return code


def _warn_if_busy() -> None:
    """Other work on the machine skews every figure: say so rather than silently report noise."""
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"WARNING: load average {load:.2f} before start: figures will be noisy", flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM takes the same path as Ctrl-C, so the finally blocks kill the servers."""
    raise KeyboardInterrupt


def _cleanup(workdir: Path, keep: bool) -> None:
    if keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def run(cfg: Config, workdir: Path, report: dict[str, Any]) -> None:
    """Generate the traffic, benchmark each server, then the scale test."""
    # hudproxy caches parsed cassettes by content hash: keep that cache in the temp dir, so loads start cold
    # (the cassettes are deterministic: a cache in ~/.cache would make every later run warm) and nothing is left.
    os.environ["HUDPROXY_CACHE_DIR"] = str(workdir / "hudproxy-cache")
    check_roundtrip(workdir)
    interactions = write_cassette(workdir / "cassette.json", cfg.requests)
    write_cassette(workdir / "cassette.yaml", cfg.requests)
    script = workdir / "requests.lua"
    write_wrk_script(script, interactions)
    bench = _Bench(cfg, workdir, report, interactions, script)
    if "raw" in cfg.servers:
        _attempt(report, "raw", bench.raw)
    if "bare" in cfg.servers:
        _attempt(report, "bare", bench.bare)
    if "mitmdump" in cfg.servers:
        _attempt(report, "mitmdump", bench.mitmdump)
    if "hudproxy" in cfg.servers:
        _attempt(report, "hudproxy", bench.hudproxy)
    if cfg.interleave:
        _interleaved(bench)
    if cfg.scale:
        _scale(cfg, workdir, report)


def _attempt(report: dict[str, Any], name: str, step: Callable[[], None]) -> None:
    """Run one server's step; a BenchError marks it unavailable and the run carries on."""
    try:
        step()
    except BenchError as exc:
        report["unavailable"][name] = str(exc)
        print(f"{name}: not available ({exc})", flush=True)


@dataclass
class _Bench:
    """The throughput section: every server gets the same cassette, wrk script and timings."""

    cfg: Config
    workdir: Path
    report: dict[str, Any]
    interactions: list[Interaction]
    script: Path
    waiting: list[tuple[str, Callable[[int], list[str]]]] = field(default_factory=list)  # --interleave

    @property
    def cassette(self) -> Path:
        return self.workdir / "cassette.json"

    def raw(self) -> None:
        self.server("raw", lambda port: raw_argv(self.cassette, port))

    def bare(self) -> None:
        self.server("bare", lambda port: bare_argv(self.cassette, port))

    def mitmdump(self) -> None:
        confdir = self.workdir / "mitmproxy-conf"
        flows, upstream = record_with_mitmdump(self.workdir, self.cassette, self.interactions, confdir)
        self.server("mitmdump", lambda port: mitm_replay_argv(flows, port, upstream, confdir))

    def hudproxy(self) -> None:
        for name, extra in hudproxy_variants():
            _attempt(
                self.report,
                name,
                lambda n=name, e=extra: self.server(n, lambda p: hudproxy_argv(self.cassette, p, e)),
            )

    def server(self, name: str, argv: Callable[[int], list[str]]) -> None:
        """Start, verify every request, then warm-up + measure at each concurrency (--interleave: later)."""
        if self.cfg.interleave:
            self.waiting.append((name, argv))
            return
        port = free_port()
        print(f"{name}: starting on port {port}", flush=True)
        with running(
            argv(port),
            port,
            self.workdir / f"{name.replace(' ', '')}.log",
            self.cfg.ready_timeout_s,
        ):
            verify(port, self.interactions)
            for conns in (LOW, HIGH):
                cfg = self.cfg
                result = measure_wrk(port, self.script, conns, cfg.duration_s, cfg.warmup_s, cfg.runs)
                rep.add_throughput(self.report, name, result)
                _progress(
                    name,
                    result.connections,
                    result.rps,
                    result.p50_ms,
                    result.non_2xx + result.socket_errors,
                )


def _progress(name: str, conns: int, rps: float, p50_ms: float, errors: int) -> None:
    warn = f"  WARNING: {errors} non-2xx/socket errors" if errors else ""
    print(f"  {name} @{conns}: {rps:,.0f} req/s, p50 {p50_ms:.3f} ms{warn}", flush=True)


def _scale(cfg: Config, workdir: Path, report: dict[str, Any]) -> None:
    """100 vs ``scale_n`` interactions and the large cassette's load time, for hudproxy and the bare floor."""
    targets: list[tuple[str, scale.Argv, bool]] = []  # name, command line, keeps a parse cache
    with_hudproxy = "hudproxy" in cfg.servers and "hudproxy" not in report["unavailable"]
    if "bare" in cfg.servers and not (cfg.quick and with_hudproxy):  # quick: stay under a minute
        targets.append(("bare", bare_argv, False))
    if with_hudproxy:
        targets.append(("hudproxy", hudproxy_argv, True))
    if not targets:
        return
    print(
        f"scale: writing cassettes of {scale.SMALL_N} and {cfg.scale_n:,} interactions",
        flush=True,
    )
    inputs = scale.prepare(workdir, cfg.scale_n)
    timing = scale.Timing(HIGH, cfg.duration_s, cfg.warmup_s, cfg.runs, cfg.load_timeout_s)
    if cfg.interleave:
        entries = [(scale.new_entry(name, inputs), argv) for name, argv, _ in targets]
        report["scale"] += [entry for entry, _ in entries]
        print(f"scale: {', '.join(name for name, _, _ in targets)}, small and large at once", flush=True)
        _attempt(report, "scale", lambda: scale.measure_interleaved(entries, inputs, workdir, timing))
        return
    for name, argv, caches in targets:
        entry = scale.new_entry(name, inputs)
        report["scale"].append(entry)
        print(f"scale: {name}", flush=True)
        _attempt(
            report,
            f"{name} (scale)",
            lambda e=entry, a=argv, c=caches: scale.measure(e, a, inputs, workdir, timing, restart=c),
        )


def _group_cpu(pid: int) -> float:
    """CPU seconds of a server and its helper processes (hudproxy's journal worker) so far."""
    return sum(cpu_seconds(p) or 0.0 for p in (pid, *children(pid)))


def _started(bench: _Bench, stack: contextlib.ExitStack) -> dict[str, tuple[int, int]]:
    """(--interleave) Every waiting server started and verified; name -> (port, pid)."""
    ports: dict[str, tuple[int, int]] = {}
    for name, argv in bench.waiting:
        port = free_port()
        print(f"{name}: starting on port {port}", flush=True)
        log = bench.workdir / f"{name.replace(' ', '')}.log"
        try:
            proc = stack.enter_context(running(argv(port), port, log, bench.cfg.ready_timeout_s))
            verify(port, bench.interactions)
        except BenchError as exc:
            bench.report["unavailable"][name] = str(exc)
            print(f"{name}: not available ({exc})", flush=True)
            continue
        ports[name] = (port, proc.pid)
    return ports


def _interleaved(bench: _Bench) -> None:
    """Every server up at once (each pinned to core 0, idle while another is measured); each of --runs rounds
    measures them back to back, so a change in the machine's load hits them alike. The median round stands per
    server, and each round's figures are kept for paired ratios (report.compute_ratios)."""
    cfg = bench.cfg
    with contextlib.ExitStack() as stack:
        ports = _started(bench, stack)
        for conns in (LOW, HIGH):
            for port, _ in ports.values():
                run_wrk(port, bench.script, conns, cfg.warmup_s)
            rounds: dict[str, list[WrkResult]] = {name: [] for name in ports}
            cpu: dict[str, list[float]] = {name: [] for name in ports}  # CPU-µs per answered request
            for _ in range(cfg.runs):
                for name, (port, pid) in ports.items():
                    before = _group_cpu(pid)
                    result = run_wrk(port, bench.script, conns, cfg.duration_s)
                    rounds[name].append(result)
                    cpu[name].append((_group_cpu(pid) - before) / max(result.requests, 1) * 1e6)
            for name, results in rounds.items():
                median = sorted(results, key=lambda r: r.rps)[(len(results) - 1) // 2]
                result = replace(median, runs_rps=tuple(r.rps for r in results))  # in round order
                rep.add_throughput(bench.report, name, result)
                _progress(name, conns, result.rps, result.p50_ms, result.non_2xx + result.socket_errors)
                spent = sorted(cpu[name])[(len(cpu[name]) - 1) // 2]
                bench.report.setdefault("cpu_us_per_request", {}).setdefault(name, {})[str(conns)] = spent
                print(f"  {name} @{conns}: {spent:.1f} CPU-µs per request (server and its helpers)", flush=True)
            bench.report.setdefault("rounds", {})[str(conns)] = {n: [r.rps for r in rs] for n, rs in rounds.items()}


if __name__ == "__main__":
    sys.exit(main())
