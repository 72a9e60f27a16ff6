"""What grading by rubric costs: its share of an eval's time at 1,000 runs (target < 5%), and `hudproxy grade`
re-scoring 10,000 stored runs (target < 10 s).

    python bench/grading_bench.py                       # replay mode, 1,000 runs, concurrency 1 and 16
    python bench/grading_bench.py --mode in-process --runs 1000 --stored 10000

Part 1, share of the eval: one in-process `run_eval` of the example shop (half update-order, half refund-order,
the `scripted` agent, results written to SQLite), graded by its rubric files (envs/shop/rubrics). The two parts of
grading are timed where they run (hudproxy.env.grading): gathering the end state (the rubric's `read:` calls the
shop's get_order, its `service:` reads the run's mailer) and scoring. Share = their total over the eval's time.
At concurrency 1 that attribution is exact; at 16, a timed part also contains the other runs' work it waited on
while suspended (the read's await), so that share is an upper bound.

Part 2, re-grading: the stored refund-order runs (the heavier: six journal rows, a mock mailer's state) are copied
(runs, journal rows, transcripts, end states, each under a new id) until the results file holds `--stored` of
them, then `hudproxy grade FILE --rubric envs/shop/rubrics/refund-order.yaml --scenario refund-order` runs as a
process, as a user runs it (the table printed); the time is the process's wall time, Python start included, and
`grade_runs` in-process is timed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "envs" / "shop"
RUBRICS = {"update-order": SHOP / "rubrics/update-order.yaml", "refund-order": SHOP / "rubrics/refund-order.yaml"}


def tasks(runs: int) -> list[dict[str, Any]]:
    half = runs // 2
    return [
        {"scenario": "update-order", "args": {"order_id": "A1"}, "repeats": runs - half},
        {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}, "repeats": half},
    ]


class Clock:
    """Accumulates the time spent inside wrapped functions (sync or async)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap_async(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        return timed

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        return timed


def eval_share(runs: int, concurrency: int, out: Path) -> dict[str, Any]:
    """One in-process eval with the grading parts timed."""
    from hudproxy.env import grading
    from hudproxy.evaluation import run_eval

    clock = Clock()
    gather, scoring = grading.gather_end_state, grading.score
    grading.gather_end_state = clock.wrap_async("end_state_s", gather)  # type: ignore[assignment]
    grading.score = clock.wrap("score_s", scoring)  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        summary = asyncio.run(run_eval(SHOP, tasks(runs), "scripted", out=out, concurrency=concurrency))
        eval_s = time.perf_counter() - started
    finally:
        grading.gather_end_state, grading.score = gather, scoring  # type: ignore[assignment]
    graded = sum(clock.seconds.values())
    per_run = 1e6 * clock.seconds.get("score_s", 0.0) / max(1, summary.finished)
    return {"runs": summary.finished, "errors": summary.errors, "concurrency": concurrency,
            "mean_reward": round(summary.mean_reward, 3), "eval_s": round(eval_s, 2),
            "end_state_s": round(clock.seconds.get("end_state_s", 0.0), 3),
            "score_s": round(clock.seconds.get("score_s", 0.0), 3),
            "grading_share_pct": round(100 * graded / eval_s, 2),
            "score_us_per_run": round(per_run, 1)}  # fmt: skip


def grow(db: Path, target: int, scenario: str) -> int:
    """Copy the scenario's stored runs (calls, transcripts, end states) under new ids until it has `target`."""
    with sqlite3.connect(db) as conn:
        base = [r[0] for r in conn.execute("select id from runs where scenario = ? order by id", (scenario,))]
        have, copy = len(base), 0
        columns = [r[1] for r in conn.execute("pragma table_info(calls)") if r[1] not in ("id", "run_id")]
        listed = ", ".join(columns)
        while have < target:
            copy += 1
            take = base[: target - have]
            marks, suffix = ",".join("?" * len(take)), f"-c{copy}"
            conn.execute(f"insert into runs select id || '{suffix}', eval_id, idx, scenario, args, repeat, agent, "
                         f"seed, session, prompt, answer, reward, subscores, notes, error, started, duration_ms, "
                         f"worker from runs where id in ({marks})", take)  # fmt: skip
            conn.execute(f"insert into calls (run_id, {listed}) select run_id || '{suffix}', {listed} from calls "
                         f"where run_id in ({marks})", take)  # fmt: skip
            conn.execute(f"insert into transcripts select run_id || '{suffix}', messages from transcripts "
                         f"where run_id in ({marks})", take)  # fmt: skip
            conn.execute(f"insert into end_states select run_id || '{suffix}', rubric, args, state from end_states "
                         f"where run_id in ({marks})", take)  # fmt: skip
            have += len(take)
        return have


def regrade(db: Path, scenario: str) -> dict[str, Any]:
    """`hudproxy grade` as a process (wall time, Python start included), and `grade_runs` in-process."""
    from hudproxy.evaluation.regrade import grade_runs

    rubric = RUBRICS[scenario]
    command = [shutil.which("hudproxy") or "hudproxy", "grade", str(db), "--rubric", str(rubric), "--scenario",
               scenario]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"})
    process_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"hudproxy grade failed: {done.stderr.strip()}")
    started = time.perf_counter()
    graded = grade_runs(db, rubric, scenario=scenario)
    in_process_s = time.perf_counter() - started
    return {"stored_runs": len(graded), "grade_process_s": round(process_s, 2),
            "grade_runs_s": round(in_process_s, 2), "us_per_run": round(1e6 * in_process_s / len(graded), 1),
            "mean_reward": round(sum(r.grade.reward for r in graded) / len(graded), 3)}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="runs of the measured eval")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--stored", type=int, default=10000, help="stored runs `hudproxy grade` re-scores")
    parser.add_argument("--mode", choices=["replay", "in-process"], default="replay")
    parser.add_argument("--keep", action="store_true", help="keep the results databases (folder printed)")
    args = parser.parse_args(argv)
    if args.mode == "replay":
        os.environ["HUDPROXY_SHOP_MODE"] = "replay"  # read when the environment loads, below
    else:
        os.environ.pop("HUDPROXY_SHOP_MODE", None)
    folder = Path(tempfile.mkdtemp(prefix="hudproxy-grading-bench-"))
    load = os.getloadavg()[0]
    print(f"# hudproxy grading bench: {os.cpu_count()} CPUs, load average {load:.1f} at start, "
          f"python {sys.version.split()[0]}, shop mode {args.mode}")  # fmt: skip
    try:
        shares = []
        for concurrency in args.concurrency:
            shares.append(eval_share(args.runs, concurrency, folder / f"results-c{concurrency}.db"))
            print(json.dumps(shares[-1]), flush=True)
        db = folder / f"results-c{args.concurrency[0]}.db"
        grow(db, args.stored, "refund-order")
        again = regrade(db, "refund-order")
        print(json.dumps(again), flush=True)
    finally:
        if args.keep:
            print(f"# results kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("\nconcurrency | runs | eval s | end state s | score s | grading share | score µs/run")
    for row in shares:
        print(f"{row['concurrency']} | {row['runs']} | {row['eval_s']} | {row['end_state_s']} | {row['score_s']} | "
              f"{row['grading_share_pct']}% (target < 5%) | {row['score_us_per_run']}")  # fmt: skip
    print(f"\nhudproxy grade: {again['stored_runs']} stored runs re-scored in {again['grade_process_s']} s "
          f"(target < 10 s; the process, Python start included); grade_runs in-process {again['grade_runs_s']} s, "
          f"{again['us_per_run']} µs/run")  # fmt: skip


if __name__ == "__main__":
    main()
