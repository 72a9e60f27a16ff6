"""Where an eval's per-run time goes: the shop's scripted eval in replay mode, in this process, timed and profiled.

    python bench/eval_profile.py                      # 1,000 runs: runs/s and CPU ms a run, no profiler
    python bench/eval_profile.py --profile --top 40   # the same under cProfile, CPU clock of the event loop's thread

The eval is `run_eval` on envs/shop (HUDPROXY_SHOP_MODE=replay: the tools call a hudproxy replay running in a
thread of this process), half `update-order`, half `refund-order`, played by `scripted`, results written to a
temporary SQLite file, as `bench/eval_bench.py` runs it through the CLI. Printed: runs/s over the eval, the
process's CPU per run (every thread: the replay server's and the results writer's too) and the event loop
thread's own. `--profile` uses `time.thread_time` as cProfile's clock, so time the loop spent waiting for the GIL
(the replay thread holding it) is not charged to whatever was running; the profiler's own overhead inflates
every figure about 3x, so read its numbers as shares.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(runs: int, concurrency: int, profiler: cProfile.Profile | None) -> dict[str, float]:
    os.environ["HUDPROXY_SHOP_MODE"] = "replay"
    from hudproxy.env.loader import load_env
    from hudproxy.evaluation.runner import run_eval

    env = load_env(ROOT / "envs" / "shop")
    half = runs // 2
    tasks = [{"scenario": "update-order", "args": {"order_id": "A1"}, "repeats": runs - half},
             {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}, "repeats": half}]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="hudproxy-eval-profile-") as folder:
        async with env:
            clock, cpu, loop_cpu = time.perf_counter(), _cpu(), time.thread_time()
            if profiler is not None:
                profiler.enable()
            summary = await run_eval(env, tasks, "scripted", concurrency=concurrency, out=Path(folder) / "r.db")
            if profiler is not None:
                profiler.disable()
            seconds, cpu, loop_cpu = time.perf_counter() - clock, _cpu() - cpu, time.thread_time() - loop_cpu
    totals = summary.totals()
    return {"runs": totals["finished"], "errors": totals["errors"], "runs_per_s": round(runs / seconds, 1),
            "cpu_ms_per_run": round(cpu * 1000 / runs, 3), "loop_cpu_ms_per_run": round(loop_cpu * 1000 / runs, 3),
            "eval_s": round(seconds, 2)}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="Run under cProfile and print the top functions")
    parser.add_argument("--top", type=int, default=30, help="Functions to print, by cumulative time")
    parser.add_argument("--out", type=Path, help="Also save the profile here (pstats format)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    print(f"# eval profile: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    print(asyncio.run(measure(args.runs, args.concurrency, profiler)))
    if profiler is not None:
        stats = pstats.Stats(profiler)
        if args.out:
            stats.dump_stats(args.out)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
