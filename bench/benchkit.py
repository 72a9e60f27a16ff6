"""Scaffolding shared by forward_bench, mcp_bench and sessions_bench, over the replay benchmark's helpers.

What it adds to ``procs``/``wrkrun``/``report``: the common command line (``--quick``, ``--runs``, ``--out``...),
one ``main`` wrapper that always kills every server (``finally``, Ctrl-C, SIGTERM) and always writes what was
measured, a generic wrk Lua writer (any method, path, headers and body per request; optionally counting answers
whose body lacks an expected marker, for protocols whose errors come back as 200), and ratios with targets.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import report as rep
from procs import BenchError, stop_all
from traffic import Interaction, _lua_str
from wrkrun import WrkResult, parse_wrk, wrk_output

LOW, HIGH = 1, 32  # latency at 1 connection, throughput at 32 (as replay_bench)
# what makes one server (or the run) "not available" rather than a crash: our own check failures, and a server
# that resets, closes or answers garbage while being checked
FAILURES = (BenchError, OSError, http.client.HTTPException, ValueError)
BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Timing:
    """How long each wrk cell runs and how many measured runs it gets (the median req/s stands)."""

    duration_s: int
    warmup_s: int
    runs: int


def parser(doc: str | None, name: str) -> argparse.ArgumentParser:
    """The options every script shares; each script adds its own."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 3 s runs after 1 s warm-up (about a minute)")
    p.add_argument("--duration", type=int, help="seconds per measured wrk run (default 10, quick 3)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up before each cell (default 2, quick 1)")
    p.add_argument("--runs", type=int, default=1, help="measured runs per cell, median req/s stands (busy: 3)")
    p.add_argument("--ready-timeout", type=float, default=120.0, help="seconds a server may take to start")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (cassettes, scripts, server logs)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / f"results-{name}.json", help="JSON report path")
    return p


def timing(args: argparse.Namespace) -> Timing:
    if min(args.runs, args.duration or 1, args.warmup or 1) < 1:
        raise SystemExit("--runs, --duration and --warmup must be at least 1")
    return Timing(args.duration or (3 if args.quick else 10), args.warmup or (1 if args.quick else 2), args.runs)


def config_dict(args: argparse.Namespace, t: Timing) -> dict[str, Any]:
    values = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    return {**values, "duration_s": t.duration_s, "warmup_s": t.warmup_s}


class Run:
    """One benchmark run: temp dir, report, the ratios and targets, and cleanup that always happens."""

    def __init__(self, name: str, config: dict[str, Any], out: Path, keep: bool, t: Timing) -> None:
        self.name = name
        self.out = out
        self.keep = keep
        self.timing = t
        # no "hudproxy" in the dir name: a `pkill -f hudproxy` elsewhere must not match the servers' argv
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.report = rep.new_report(config)
        self.report.update({"targets": [], "notes": [], "extra": {}})
        # hudproxy's compiled-cassette cache and forward-mode CA stay in the temp dir: nothing in ~ is touched
        os.environ["HUDPROXY_CACHE_DIR"] = str(self.workdir / "hudproxy-cache")
        os.environ["HUDPROXY_CA_DIR"] = str(self.workdir / "hudproxy-ca")

    # -- running -----------------------------------------------------------------------------------------------
    def main(self, body: Callable[[Run], None], tables: Callable[[Run], None] | None = None) -> int:
        """Run ``body``; whatever happens, kill every server, clean up, print and save what was measured."""
        signal.signal(signal.SIGTERM, _interrupt)
        load = os.getloadavg()
        print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
        if load[0] > 0.5:
            print("WARNING: the machine is busy: figures will be noisy (use --runs 3)", flush=True)
        code = 0
        try:
            body(self)
        except KeyboardInterrupt:
            print("interrupted: reporting what was measured so far", file=sys.stderr)
            code = 130
        except FAILURES as exc:  # a step every later one needs failed (e.g. recording): report and stop
            self.report["unavailable"][self.name] = _reason(exc)
            code = 1
        finally:
            stop_all()
            self.report["machine"]["load_average_at_end"] = os.getloadavg()[0]
            if self.keep:
                print(f"kept {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        if tables is not None:
            tables(self)
        self.print_tables()
        for name, reason in self.report["unavailable"].items():
            print(f"{name}: not available ({reason})")
        for note in self.report["notes"]:
            print(f"note: {note}")
        rep.save(self.report, self.out)
        print(f"results written to {self.out}")
        return code

    def attempt(self, name: str, step: Callable[[], None]) -> None:
        """Run one server's step; a failure (see FAILURES) marks it unavailable and the run carries on."""
        try:
            step()
        except FAILURES as exc:
            self.report["unavailable"][name] = _reason(exc)
            print(f"{name}: not available ({exc})", flush=True)

    def note(self, text: str) -> None:
        self.report["notes"].append(text)
        print(f"note: {text}", flush=True)

    # -- measuring -----------------------------------------------------------------------------------------------
    def measure(
        self, server: str, port: int, script: Path, connections: int, pid: int | None = None, **extra: Any
    ) -> WrkResult:
        """Warm-up + ``runs`` measured wrk runs at ``connections``; recorded under ``server`` (plus ``extra``).

        ``pid``: the server's process (a group leader, as ``procs.start`` makes it) for CPU µs per request.
        """
        t = self.timing
        result, bad, cpu_us, serving_us = measure(port, script, connections, t.duration_s, t.warmup_s, t.runs, pid)
        row = {
            "server": server,
            **extra,
            **result.as_dict(),
            "cpu_us_per_request": cpu_us,
            "serving_cpu_us_per_request": serving_us,
        }
        if bad is not None:
            row["bad_bodies"] = bad
        self.report["throughput"].append(row)
        errors = result.non_2xx + result.socket_errors + (bad or 0)
        warn = f"  WARNING: {errors} non-2xx/socket errors/bad bodies" if errors else ""
        runs = f" (runs: {', '.join(f'{r:,.0f}' for r in result.runs_rps)})" if len(result.runs_rps) > 1 else ""
        cpu = f", {cpu_us:,.0f} CPU µs/req" if cpu_us is not None else ""
        if serving_us is not None and cpu_us is not None and abs(serving_us - cpu_us) > 0.5:
            cpu += f" ({serving_us:,.0f} in the serving process)"
        print(
            f"  {server} @{connections}: {result.rps:,.0f} req/s{runs}, p50 {result.p50_ms:.3f} ms{cpu}{warn}",
            flush=True,
        )
        return result

    def row(self, server: str, connections: int) -> dict[str, Any] | None:
        for r in self.report["throughput"]:
            if r["server"] == server and r["connections"] == connections:
                return r
        return None

    def ratio(self, a: str, b: str, what: str = "rps", target: str | None = None, label: str | None = None) -> None:
        """``a / b`` if both ran: req/s at 32 connections (``what="rps"``), p50 at 1 (``"p50"``), or server CPU µs
        per request at 32 (``"cpu"``: below 1 means ``a`` does less work per request; ``"serving_cpu"``: the same for
        the serving process alone, without helper processes).

        ``target`` like ``">= 1"`` or ``"<= 1.15"`` is checked and listed in the targets table.
        """
        conns, field, unit = {
            "rps": (HIGH, "rps", "req/s"),
            "p50": (LOW, "p50_ms", "p50"),
            "cpu": (HIGH, "cpu_us_per_request", "CPU µs/req"),
            "serving_cpu": (HIGH, "serving_cpu_us_per_request", "serving CPU µs/req"),
        }[what]
        ra, rb = self.row(a, conns), self.row(b, conns)
        if ra is None or rb is None or not ra.get(field) or not rb.get(field):
            return
        self.add_ratio(label or f"{a} / {b} {unit} @{conns}", ra[field] / rb[field], target)

    def add_ratio(self, name: str, value: float, target: str | None = None) -> None:
        self.report["ratios"][name] = value
        if target is not None:
            self.add_target(name, value, target)

    def add_target(self, name: str, value: float, target: str) -> None:
        """A figure checked against a target (``">= 1"``, ``"< 20000"``), listed in the targets table."""
        self.report["targets"].append({"figure": name, "value": value, "target": target, "met": met(value, target)})

    # -- printing ------------------------------------------------------------------------------------------------
    def print_tables(self) -> None:
        rows = self.report["throughput"]
        with_bad = any("bad_bodies" in r for r in rows)
        headers = ["server", "conns", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "non-2xx", "sock err"]
        if with_bad:
            headers.append("bad body")
        table = []
        for r in rows:
            cells = [
                r["server"],
                str(r["connections"]),
                f"{r['rps']:,.0f}",
                f"{r['p50_ms']:.3f}",
                f"{r['p99_ms']:.3f}",
                f"{r['cpu_us_per_request']:,.0f}" if r.get("cpu_us_per_request") else "—",
                str(r["non_2xx"]),
                str(r["socket_errors"]),
            ]
            if with_bad:
                cells.append(str(r.get("bad_bodies", "—")))
            table.append(cells)
        if table:
            rep._table(f"{self.name}: throughput and latency (wrk; server core 0, wrk core 1)", headers, table)
        if self.report["ratios"]:
            rep._table("Ratios", ["ratio", "value"], [[k, f"{v:.3f}"] for k, v in self.report["ratios"].items()])
        if self.report["targets"]:
            rep._table(
                "Targets",
                ["figure", "value", "target", "met"],
                [
                    [t["figure"], f"{t['value']:.3f}", t["target"], "yes" if t["met"] else "NO"]
                    for t in self.report["targets"]
                ],
            )
        m = self.report["machine"]
        print(
            f"load average: {m['load_average_at_start']:.2f} at start, {m.get('load_average_at_end', 0):.2f} at end "
            f"({m['cores']} cores)"
        )


def met(value: float, target: str) -> bool:
    op, number = target.split()
    return {
        ">=": value >= float(number),
        "<=": value <= float(number),
        "<": value < float(number),
        ">": value > float(number),
    }[op]


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM takes the same path as Ctrl-C, so the finally blocks kill the servers."""
    raise KeyboardInterrupt


# -- wrk ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LuaRequest:
    """One request of a wrk script: ``path`` may be absolute-form (a forward proxy); headers in order."""

    method: str
    path: str
    headers: Sequence[tuple[str, str]]
    body: str | None = None


def traffic_requests(
    interactions: Sequence[Interaction], url_prefix: str = "", host: str | None = None
) -> list[LuaRequest]:
    """bench/traffic.py's requests with the headers ``write_wrk_script`` sends; ``url_prefix`` goes before each
    target (``http://127.0.0.1:UP`` for absolute form), ``host`` overrides wrk's Host (the address it connects to).
    """
    out = []
    for it in interactions:
        headers = [*([("Host", host)] if host else []), ("Accept", "*/*")]
        if it.content_type:
            headers.append(("Content-Type", it.content_type))
        out.append(LuaRequest(it.method, url_prefix + it.target, headers, it.body))
    return out


def write_lua(path: Path, requests: Sequence[LuaRequest], expect: str | None = None) -> None:
    """A wrk script cycling through ``requests``, pre-formatted once per thread (``wrk.format``).

    A ``Host`` header in a request wins over wrk's default (the address wrk connects to). With ``expect``, every
    answer whose body lacks that exact text is counted and the total printed as ``bad responses: N``.
    """
    rows = ",\n".join(
        "  {"
        + _lua_str(r.method)
        + ", "
        + _lua_str(r.path)
        + ", {"
        + ", ".join("{" + _lua_str(k) + ", " + _lua_str(v) + "}" for k, v in r.headers)
        + "}, "
        + (_lua_str(r.body) if r.body is not None else "nil")
        + "}"
        for r in requests
    )
    script = _LUA.replace("__ROWS__", rows)
    if expect is not None:
        script += _LUA_CHECK.replace("__EXPECT__", _lua_str(expect))
    path.write_text(script, encoding="utf-8")


_LUA = """-- generated by bench/benchkit.py: cycles through pre-formatted requests
local rows = {
__ROWS__
}
local reqs = {}
local i = 0

function init(args)
  for k, r in ipairs(rows) do
    local headers = {}
    for _, h in ipairs(r[3]) do headers[h[1]] = h[2] end
    reqs[k] = wrk.format(r[1], r[2], headers, r[4])
  end
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""

_LUA_CHECK = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
function response(status, headers, body)
  if not string.find(body, __EXPECT__, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("bad responses: %d\\n", total))
end
"""

_BAD = re.compile(r"^bad responses: (\d+)$", re.MULTILINE)


def measure(
    port: int, script: Path, connections: int, duration_s: int, warmup_s: int, runs: int = 1, pgid: int | None = None
) -> tuple[WrkResult, int | None, float | None, float | None]:
    """As ``wrkrun.measure`` (warm-up, ``runs`` runs, the median req/s stands; ``runs_rps`` in run order), plus
    the bad bodies if the script counts them, and the server's CPU µs per request when ``pgid`` is given: for
    the whole process group, and for the serving process alone (the group leader).

    CPU is user + system time (every thread: a journal writer thread too; the group figure also counts helper
    processes such as hudproxy's journal worker) over all measured runs plus a short settle, so work deferred past
    the end of a run is counted, divided by the requests wrk completed. Unlike req/s it barely moves when other
    work on the machine takes the server's core.
    """
    wrk_once(port, script, connections, warmup_s)
    group_before = group_cpu_s(pgid) if pgid is not None else 0.0
    leader_before = group_cpu_s(pgid, leader_only=True) if pgid is not None else 0.0
    results = [wrk_once(port, script, connections, duration_s) for _ in range(runs)]
    cpu_us = serving_us = None
    if pgid is not None:
        time.sleep(SETTLE_S)
        served = sum(r.requests for r, _ in results)
        if served:
            cpu_us = (group_cpu_s(pgid) - group_before) / served * 1e6
            serving_us = (group_cpu_s(pgid, leader_only=True) - leader_before) / served * 1e6
    median, bad = sorted(results, key=lambda r: r[0].rps)[(len(results) - 1) // 2]
    return replace(median, runs_rps=tuple(r.rps for r, _ in results)), bad, cpu_us, serving_us


SETTLE_S = 0.5


def group_cpu_s(pgid: int, leader_only: bool = False) -> float:
    """User + system CPU seconds of every live process in the group (threads included), or of its leader, from
    /proc."""
    ticks = 0
    entries = [Path(f"/proc/{pgid}")] if leader_only else Path("/proc").iterdir()
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk_once(port: int, script: Path, connections: int, duration_s: int) -> tuple[WrkResult, int | None]:
    """One wrk run pinned to its core (as ``wrkrun.run_wrk``), with the count the script itself reports."""
    output = wrk_output(port, script, connections, duration_s)
    bad = _BAD.search(output)
    return parse_wrk(output, connections, duration_s), int(bad.group(1)) if bad else None
