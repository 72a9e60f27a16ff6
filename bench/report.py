"""Results of a run: collected in one dict, printed as tables (rich when installed), saved as JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from wrkrun import WrkResult

Row = list[str]


def new_report(config: dict[str, Any]) -> dict[str, Any]:
    """An empty report: every section exists even when a server was unavailable."""
    return {
        "config": config,
        "machine": machine_info(),
        "throughput": [],
        "ratios": {},
        "scale": [],
        "unavailable": {},
    }


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPU, core count, and the versions of everything measured."""
    versions = {}
    for dist in ("uvicorn", "uvloop", "httptools", "mitmproxy", "hudproxy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "load_average_at_start": os.getloadavg()[0],
        "cpu": _cpu_model(),
        "cores": _nproc(),
        "python": platform.python_version(),
        "wrk": _wrk_version(),
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _nproc() -> int:
    return len(os.sched_getaffinity(0))


def _wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "unknown"


def add_throughput(report: dict[str, Any], server: str, result: WrkResult) -> None:
    """Record one (server, concurrency) measurement."""
    report["throughput"].append({"server": server, **result.as_dict()})


def compute_ratios(report: dict[str, Any], low: int, high: int) -> None:
    """req/s ratios at ``high`` connections, p50 ratios at ``low``: each hudproxy run against the others."""
    rows = {(r["server"], r["connections"]): r for r in report["throughput"]}
    servers = list(dict.fromkeys(r["server"] for r in report["throughput"]))
    pairs = [(h, other) for h in servers if h.startswith("hudproxy") for other in ("raw", "bare", "mitmdump")]
    pairs += [("bare", "raw"), ("bare", "mitmdump")]  # references: the ASGI floor against the ceiling and the peer
    for a, b in pairs:
        if (a, high) in rows and (b, high) in rows:
            report["ratios"][f"{a} / {b} req/s @{high}"] = rows[a, high]["rps"] / rows[b, high]["rps"]
        if (a, low) in rows and (b, low) in rows:
            report["ratios"][f"{a} / {b} p50 @{low}"] = rows[a, low]["p50_ms"] / rows[b, low]["p50_ms"]
    rounds = report.get("rounds", {}).get(str(high), {})  # --interleave: each round's req/s, in round order
    for a, b in pairs:
        if a in rounds and b in rounds and rounds[a] and len(rounds[a]) == len(rounds[b]):
            paired = sorted(x / y for x, y in zip(rounds[a], rounds[b], strict=True))
            key = f"{a} / {b} req/s @{high}, paired median of {len(paired)} rounds"
            report["ratios"][key] = paired[(len(paired) - 1) // 2]


def save(report: dict[str, Any], out: Path) -> None:
    """Write the report as indented JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def print_report(report: dict[str, Any]) -> None:
    """Print the throughput, ratio and scale tables, then what could not be measured."""
    _table(
        "Replay throughput and latency",
        ["server", "conns", "req/s", "p50 ms", "p99 ms", "non-2xx", "sock err"],
        [_throughput_row(r) for r in report["throughput"]],
    )
    cpu = report.get("cpu_us_per_request", {})  # --interleave
    if cpu:
        bare = cpu.get("bare", {})
        _table(
            "CPU-µs per request (server and its helpers): less sensitive to other load than req/s",
            ["server", "@1", "@32", "bare / server @32"],
            [
                [name, _num(c.get("1"), ".1f"), _num(c.get("32"), ".1f"),
                 _num(bare["32"] / c["32"] if "32" in bare and c.get("32") else None, ".2f")]
                for name, c in cpu.items()
            ],
        )  # fmt: skip
    if report["ratios"]:
        _table("Ratios", ["ratio", "value"], [[k, f"{v:.3f}"] for k, v in report["ratios"].items()])
    if report["scale"]:
        _table(
            "Scale: req/s at 32 connections, small vs large cassette",
            ["server", "interactions", "req/s small", "req/s large", "large / small"],
            [_scale_row(s) for s in report["scale"]],
        )
        _table(
            "Load time of the large cassette (warm = 2nd start)",
            ["server", "start", "first answer s", "first replay s", "RSS MB"],
            [row for s in report["scale"] for row in _load_rows(s)],
        )
    for name, reason in report["unavailable"].items():
        print(f"{name}: not available ({reason})")


def _throughput_row(r: dict[str, Any]) -> Row:
    return [
        r["server"],
        str(r["connections"]),
        f"{r['rps']:,.0f}",
        f"{r['p50_ms']:.3f}",
        f"{r['p99_ms']:.3f}",
        str(r["non_2xx"]),
        str(r["socket_errors"]),
    ]


def _scale_row(s: dict[str, Any]) -> Row:
    return [
        s["server"],
        f"{s['small_n']:,} vs {s['large_n']:,}",
        _num(s.get("rps_small"), ",.0f"),
        _num(s.get("rps_large"), ",.0f"),
        _num(s.get("ratio"), ".3f"),
    ]


def _load_rows(s: dict[str, Any]) -> list[Row]:
    return [
        [
            s["server"],
            fmt,
            _num(load.get("first_answer_s"), ".2f"),
            _num(load.get("first_replay_s"), ".2f"),
            _num(load.get("rss_mb"), ",.0f"),
        ]
        for fmt, load in s["load"].items()
    ]


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _table(title: str, headers: Row, rows: list[Row]) -> None:
    """A rich table when rich is installed, else aligned plain text."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _plain_table(title, headers, rows)
        return
    table = Table(title=title)
    for k, header in enumerate(headers):
        table.add_column(header, justify="left" if k == 0 else "right", no_wrap=k == 0)
    for row in rows:
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # piped to a file: do not squeeze into rich's default 80 columns
        console = Console(width=120)
    console.print(table)


def _plain_table(title: str, headers: Row, rows: list[Row]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    print(f"\n{title}")
    for row in [headers, *rows]:
        print("  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths, strict=True))))
