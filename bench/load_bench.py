"""Start-up of `hudproxy replay` on a big cassette: spawn to first HTTP answer and first correct replay, cold
(an empty compiled cache) and warm (a second start on the same file), from JSON and YAML, with the server's
peak RSS; the bare uvicorn server's JSON load is the reference (bench/bare_server.py, no cache, no checks).

`--baseline DIR` also starts another checkout's hudproxy (its folder is put first on PYTHONPATH), and every
configuration is run in turn within each round, so a before/after comparison shares the machine's load.
Servers are not pinned: the YAML load uses both cores by design. The load average is printed with each round.

Run: `python bench/load_bench.py --n 100000 --rounds 1 --baseline /work/main`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import procs
from servers import bare_argv, hudproxy_argv
from traffic import make_interaction, write_cassette


@dataclass(frozen=True)
class Config:
    """One server configuration: who, which file, with which code and cache."""

    label: str
    fmt: str  # json | yaml
    pythonpath: str | None  # None: the bare server
    warm: bool


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="interactions in the cassette (default 100,000)")
    p.add_argument("--rounds", type=int, default=1, help="rounds of every configuration (median reported)")
    p.add_argument("--baseline", type=Path, help="another hudproxy checkout to compare against (e.g. /work/main)")
    p.add_argument("--formats", default="json,yaml", help="which cassette formats (default json,yaml)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds a server may take to load")
    p.add_argument("--workdir", type=Path, help="keep cassettes here (default: a temporary folder, removed)")
    p.add_argument("--json", type=Path, help="also write the results here")
    return p.parse_args(argv)


def configs(here: str, baseline: str | None, formats: list[str]) -> list[Config]:
    out = [Config("bare", "json", None, warm=False)]
    checkouts = [("hudproxy", here)] + ([("baseline", baseline)] if baseline else [])
    for fmt in formats:
        for warm in (False, True):
            out += [Config(name, fmt, path, warm) for name, path in checkouts]
    return out


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM): what its load needed at most."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("nan")


def start_once(cfg: Config, cassette: Path, cache: Path, workdir: Path, timeout_s: float) -> dict[str, float]:
    port = procs.free_port()
    if cfg.pythonpath is None:
        argv = bare_argv(cassette, port)
    else:
        journal = workdir / f"journal-{port}.db"
        env = [f"PYTHONPATH={cfg.pythonpath}", f"HUDPROXY_CACHE_DIR={cache}"]
        argv = ["env", *env, *hudproxy_argv(cassette, port, ["--journal", str(journal)])]
    log = workdir / f"{cfg.label}-{cfg.fmt}-{'warm' if cfg.warm else 'cold'}.log"
    probe = make_interaction(cassette_n(cassette) - 1)
    t0 = time.perf_counter()
    proc = procs.start(argv, log, core=None)
    try:
        procs.wait_first_answer(port, proc, log, timeout_s)
        first_answer = time.perf_counter() - t0
        procs.wait_first_replay(port, probe, max(1.0, timeout_s - first_answer))
        first_replay = time.perf_counter() - t0
        return {"first_answer_s": first_answer, "first_replay_s": first_replay, "peak_rss_mb": peak_rss_mb(proc.pid)}
    finally:
        procs.stop(proc)


def cassette_n(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


def run(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    formats = args.formats.split(",")
    cassettes = {fmt: workdir / f"load-{args.n}.{fmt}" for fmt in {"json", *formats}}
    for path in cassettes.values():
        if not path.exists():  # a kept --workdir reuses them (the traffic is a pure function of n)
            print(f"writing {path.name}", flush=True)
            write_cassette(path, args.n)
    here = str(Path(__file__).resolve().parent.parent)
    baseline = str(args.baseline.resolve()) if args.baseline else None
    plan = configs(here, baseline, formats)
    figures: dict[Config, list[dict[str, float]]] = {cfg: [] for cfg in plan}
    for round_no in range(args.rounds):
        caches = {label: workdir / f"cache-{label}-{round_no}" for label in ("hudproxy", "baseline")}
        for cfg in plan:  # cold before warm of the same checkout and format: configs() orders them so
            load = os.getloadavg()[0]
            got = start_once(cfg, cassettes[cfg.fmt], caches.get(cfg.label, workdir), workdir, args.timeout)
            got["load_avg"] = load
            figures[cfg].append(got)
            state = "warm" if cfg.warm else "cold"
            print(
                f"round {round_no + 1}: {cfg.label:9} {cfg.fmt:4} {state}: "
                f"first answer {got['first_answer_s']:6.2f} s, "
                f"first replay {got['first_replay_s']:6.2f} s, peak RSS {got['peak_rss_mb']:7.0f} MB "
                f"(load average {load:.1f})",
                flush=True,
            )
        for cache in caches.values():
            shutil.rmtree(cache, ignore_errors=True)
    return summarise(figures, {fmt: path.stat().st_size for fmt, path in cassettes.items()})


def summarise(figures: dict[Config, list[dict[str, float]]], sizes: dict[str, int]) -> list[dict[str, Any]]:
    bare = next(cfg for cfg in figures if cfg.label == "bare")
    reference = statistics.median(r["first_replay_s"] for r in figures[bare])
    rows = []
    print(f"\nmedians; reference: bare server, JSON, first replay {reference:.2f} s")
    for cfg, results in figures.items():
        row = {
            "server": cfg.label,
            "format": cfg.fmt,
            "start": "warm" if cfg.warm else "cold",
            **{key: round(statistics.median(r[key] for r in results), 3) for key in results[0]},
            "file_mb": round(sizes[cfg.fmt] / 1e6, 1),
        }
        row["vs_bare_json"] = round(row["first_replay_s"] / reference, 2)
        row["rss_per_file_size"] = round(row["peak_rss_mb"] * 1.048576 / row["file_mb"], 2)
        rows.append(row)
        print(
            f"{row['server']:9} {row['format']:4} {row['start']}: first replay {row['first_replay_s']:6.2f} s "
            f"({row['vs_bare_json']:.2f}x bare JSON), peak RSS {row['peak_rss_mb']:.0f} MB "
            f"({row['rss_per_file_size']:.2f}x the file)"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rows = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
            rows = run(args, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
