"""`hudproxy eval` of the example shop with a scripted agent: isolated runs per second, and peak memory at
1,000 vs 10,000 runs (it should stay flat: runs stream through the runner, only their summary stays).

    python bench/eval_bench.py                         # replay mode, local backend, 1,000 and 10,000 runs
    python bench/eval_bench.py --mode in-process --runs 1000 --concurrency 16
    python bench/eval_bench.py --backend ray --runs 1000 10000

Every measurement is one `hudproxy eval` process, as a user runs it, with results written to SQLite. The runs are
half `update-order` (A1 → shipped), half `refund-order` (A2, 12.50 EUR, e-mail), played by
`scripted` (envs/shop/agents.py); every run has its own RunContext, replay session and journal.

- mode `replay`: the shop's tools answer from a hudproxy replay of cassettes/shop.yaml (HUDPROXY_SHOP_MODE=replay);
- mode `in-process`: each run builds its own FastAPI shop (the shop's default; `create_app` dominates the cost).

runs/s is finished runs over the eval's own time (its `evals` row, started → ended: the process start and the
environment's import are not counted; `wall s` counts them). Peak RSS is the eval process's own (os.wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "envs" / "shop"
AGENT = "scripted"


def tasks_file(folder: Path, runs: int) -> Path:
    half = runs // 2
    tasks = [
        {"scenario": "update-order", "args": {"order_id": "A1"}, "repeats": runs - half},
        {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}, "repeats": half},
    ]
    path = folder / f"tasks-{runs}.jsonl"
    path.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    return path


def measure(runs: int, mode: str, backend: str, concurrency: int, folder: Path) -> dict[str, object]:
    """One `hudproxy eval` process: its figures from the results database, its peak RSS from the kernel."""
    out = folder / f"results-{mode}-{backend}-{runs}.db"
    tasks = tasks_file(folder, runs)
    command = [shutil.which("hudproxy") or "hudproxy", "eval", str(SHOP), "--tasks", str(tasks), "--agent", AGENT,
               "--concurrency", str(concurrency), "--backend", backend, "--out", str(out)]  # fmt: skip
    env = {**os.environ, "COLUMNS": "160"}
    if mode == "replay":
        env["HUDPROXY_SHOP_MODE"] = "replay"
    else:
        env.pop("HUDPROXY_SHOP_MODE", None)
    started = time.perf_counter()
    with open(folder / "eval.log", "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"hudproxy eval failed (exit {os.waitstatus_to_exitcode(status)}); see {folder / 'eval.log'}")
    with sqlite3.connect(out) as db:
        finished, errors, mean, begun, ended = db.execute(
            "SELECT finished, errors, mean_reward, started, ended FROM evals").fetchone()  # fmt: skip
        p50, p95 = _percentiles(db)
    seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(begun)).total_seconds()
    return {"mode": mode, "backend": backend, "runs": finished, "errors": errors, "mean_reward": round(mean, 3),
            "eval_s": round(seconds, 2), "wall_s": round(wall, 2), "runs_per_s": round(finished / seconds, 1),
            "p50_ms": p50, "p95_ms": p95, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "results_mb": round(out.stat().st_size / 2**20, 1)}  # fmt: skip


def _percentiles(db: sqlite3.Connection) -> tuple[float, float]:
    durations = [row[0] for row in db.execute("SELECT duration_ms FROM runs ORDER BY duration_ms")]
    return tuple(round(durations[min(len(durations) - 1, int(q * len(durations)))], 1) for q in (0.5, 0.95))  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--mode", choices=["replay", "in-process"], default="replay")
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="Keep the results databases (printed folder)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="hudproxy-eval-bench-"))
    load, version = os.getloadavg()[0], sys.version.split()[0]
    print(f"# hudproxy eval bench: {os.cpu_count()} CPUs, load average {load:.1f} at start, python {version}")
    rows = []
    try:
        for runs in args.runs:
            rows.append(measure(runs, args.mode, args.backend, args.concurrency, folder))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if args.keep:
            print(f"# results kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    columns = ["mode", "backend", "runs", "errors", "mean_reward", "runs_per_s", "eval_s", "wall_s", "p50_ms",
               "p95_ms", "peak_rss_mb", "results_mb"]  # fmt: skip
    print("\n" + " | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    if len(rows) > 1:
        growth = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]  # type: ignore[operator]
        print(f"\npeak RSS at {rows[-1]['runs']} runs is {growth:.2f}x that at {rows[0]['runs']} runs")


if __name__ == "__main__":
    main()
