"""`--generalise` measured as issue 16 asks: agreement with the real API on walks nobody recorded, beside plain
replay; synthesized vs recorded answer speed; memory of many sessions with changes.

    python bench/generalise_bench.py                # 100 walks x 15 steps per API
    python bench/generalise_bench.py --walks 20 --json

Agreement: seeded random CRUD walks (envs/todos/walks.py, envs/shop/walks.py), each against a fresh live API and a
fresh session of the replay of the API's training recording (cassettes/todos.yaml, cassettes/shop.yaml), over
real sockets with httpx; an answer agrees when the status and the JSON body are equal, server timestamps compared
by shape. Plain replay (no --generalise) runs the same walks. Speed: the replay engine's `handle` (sans-IO, no
HTTP) for a recorded answer and a synthesized one, same engine, same session; and the same two paths through
one replay server driven by wrk (needs `wrk` on PATH; the issue's target, >= 0.5x, is for the server).
Memory: tracemalloc growth for 1,000 sessions making 10 changes each (the cassette and model are loaded before
the measurement starts).
With its OpenAPI document: the todos walks with label steps mixed in (`/labels` is never recorded; the
document's schemas serve it), against a replay given the service's own document.
MCP: the task tools (envs/tasks_mcp) recorded through hudproxy's MCP recording (envs/tasks_mcp/record.py), then
seeded random tool-call walks (envs/tasks_mcp/walks.py) against a fresh live server (in-process) and a fresh
session of the generalising and the plain replay (streamable HTTP, real MCP clients): the same agreement table.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envs.shop import service as shop_service  # noqa: E402
from envs.shop.walks import ShopWalker  # noqa: E402
from envs.tasks_mcp.record import record as record_tasks  # noqa: E402
from envs.tasks_mcp.walks import differential  # noqa: E402
from envs.todos import service as todos_service  # noqa: E402
from envs.todos.walks import LabelWalker, Walker, comparable  # noqa: E402
from hudproxy.cassette.files import load_cassette  # noqa: E402
from hudproxy.interaction.model import Request  # noqa: E402
from hudproxy.mcp.http import attach_mcp  # noqa: E402
from hudproxy.replay.engine import ReplayEngine  # noqa: E402
from hudproxy.replay.options import ReplayOptions  # noqa: E402
from hudproxy.replay.server import create_replay_app  # noqa: E402
from hudproxy.replay.state import ReplayState  # noqa: E402
from hudproxy.serving import serve_in_thread  # noqa: E402

TOKEN = {"Authorization": f"Bearer {shop_service.ACCESS_TOKEN}"}


class Fresh:
    """One socket, a fresh live API per walk."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.app = factory()

    def restart(self) -> None:
        self.app = self.factory()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def body(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.content


def agreement(name: str, factory: Callable[[], Any], cassette: Path, walker: Callable[[random.Random], Any],
              walks: int, steps: int, seed: int, openapi: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    live = Fresh(factory)
    result: dict[str, Any] = {"api": name, "walks": walks, "steps": walks * steps}
    options = ReplayOptions(generalise=True, openapi=openapi)
    with serve_in_thread(live) as live_url, \
            serve_in_thread(create_replay_app(cassette, options)) as general_url, \
            serve_in_thread(create_replay_app(cassette)) as plain_url:  # fmt: skip
        counts: dict[str, Counter[str]] = {"total": Counter(), "generalise": Counter(), "plain": Counter()}
        clients = {k: httpx.Client(trust_env=False, headers=TOKEN) for k in ("live", "generalise", "plain")}
        clients["live"].base_url = httpx.URL(live_url)
        for walk in range(walks):
            live.restart()
            clients["generalise"].base_url = httpx.URL(f"{general_url}/s/walk-{walk}")
            clients["plain"].base_url = httpx.URL(f"{plain_url}/s/walk-{walk}")
            chooser = walker(random.Random(seed * 1000 + walk))
            for _ in range(steps):
                step = chooser.next_step()
                real = clients["live"].request(step.method, step.path, json=step.body)
                expected = (real.status_code, comparable(body(real)))
                counts["total"][step.kind] += 1
                for mode in ("generalise", "plain"):
                    got = clients[mode].request(step.method, step.path, json=step.body)
                    counts[mode][step.kind] += (got.status_code, comparable(body(got))) == expected
                chooser.learn(step, real.status_code, body(real))
        for client in clients.values():
            client.close()
    total = sum(counts["total"].values())
    for mode in ("generalise", "plain"):
        result[mode] = round(sum(counts[mode].values()) / total, 4)
        result[f"{mode}_by_kind"] = {k: f"{counts[mode][k]}/{n}" for k, n in sorted(counts["total"].items())}
    return result


def mcp_agreement(walks: int, steps: int, seed: int) -> dict[str, Any]:
    """The MCP task tools: record the training script, then the walks against live, generalising and plain."""
    with tempfile.TemporaryDirectory() as tmp:
        cassette = record_tasks(Path(tmp) / "tasks.yaml")
        general = create_replay_app(cassette, ReplayOptions(generalise=True))
        plain = create_replay_app(cassette)
        attach_mcp(general)
        attach_mcp(plain)
        with serve_in_thread(general) as general_url, serve_in_thread(plain) as plain_url:
            urls = {"generalise": general_url, "plain": plain_url}
            found = anyio.run(differential, urls, walks, steps, seed)
    found["walks"], found["steps"] = walks, walks * steps
    found.pop("disagreements")
    return found


def speed(cassette: Path, recorded: str, synthesized: str, rounds: int) -> dict[str, Any]:
    engine = ReplayEngine.from_cassette(load_cassette(cassette), generalise=True)
    state = ReplayState("bench")
    out: dict[str, Any] = {}
    for label, path in (("recorded", recorded), ("synthesized", synthesized)):
        request = Request("GET", f"http://127.0.0.1:1{path}")
        outcome = engine.handle(request, state)
        assert (outcome.synthesized is not None) == (label == "synthesized"), (label, path)
        start = time.perf_counter()
        for _ in range(rounds):
            engine.handle(request, state)
        out[f"{label}_per_s"] = round(rounds / (time.perf_counter() - start))
    out["synthesized_vs_recorded"] = round(out["synthesized_per_s"] / out["recorded_per_s"], 2)
    return out


def served(cassette: Path, recorded: str, synthesized: str, seconds: int, rounds: int) -> dict[str, Any]:
    """The same through one replay server (uvicorn, in this process) with wrk at 8 connections, alternating the
    recorded and the synthesized path `rounds` times; the median req/s of each stands."""
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not on PATH"}
    rates: dict[str, list[float]] = {"recorded": [], "synthesized": []}
    with serve_in_thread(create_replay_app(cassette, ReplayOptions(generalise=True))) as url:
        for _ in range(rounds):
            for label, path in (("recorded", recorded), ("synthesized", synthesized)):
                argv = ["wrk", "-t1", "-c8", f"-d{seconds}s", url + path]
                out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                found = re.search(r"Requests/sec:\s+([\d.]+)", out)
                rates[label].append(float(found.group(1)) if found else 0.0)
    result: dict[str, Any] = {f"{k}_per_s": round(statistics.median(v)) for k, v in rates.items()}
    result["synthesized_vs_recorded"] = round(result["synthesized_per_s"] / result["recorded_per_s"], 2)
    return result


def memory(cassette: Path, sessions: int, changes: int) -> dict[str, Any]:
    engine = ReplayEngine.from_cassette(load_cassette(cassette), generalise=True)
    states = []
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(sessions):
        state = ReplayState(f"s{n}")
        for k in range(changes):
            if k % 2:
                request = Request("PUT", f"http://127.0.0.1:1/users/1/todos/{1 + k % 3}",
                                  (("content-type", "application/json"),),
                                  json.dumps({"title": f"t{n}-{k}", "done": True}).encode())  # fmt: skip
            else:
                request = Request("POST", "http://127.0.0.1:1/users/2/todos", (("content-type", "application/json"),),
                                  json.dumps({"title": f"new {n}-{k}"}).encode())  # fmt: skip
            assert engine.handle(request, state).synthesized is not None
        states.append(state)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"sessions": sessions, "changes_each": changes, "grown_mb": round(grown / 1e6, 2), "target_mb": 50}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--walks", type=int, default=100)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--wrk-seconds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--apis", default="todos,shop,todos+openapi,mcp", help="agreement tables, comma-separated")
    parser.add_argument("--agreement-only", action="store_true", help="skip the speed and memory measurements")
    args = parser.parse_args()
    logging.getLogger("hudproxy").setLevel(logging.ERROR)  # plain replay logs every miss it diagnoses
    logging.getLogger("mcp").setLevel(logging.ERROR)  # the live tool server logs each isError answer
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the MCP clients log every request
    todos, shop = ROOT / "cassettes" / "todos.yaml", ROOT / "cassettes" / "shop.yaml"
    walks = (args.walks, args.steps, args.seed)
    tables = {
        "todos": lambda: agreement("todos", todos_service.create_app, todos, Walker, *walks),
        "shop": lambda: agreement("shop", shop_service.create_app, shop, ShopWalker, *walks),
        "todos+openapi": lambda: agreement(
            "todos with its OpenAPI document (labels never recorded)",
            todos_service.create_app,
            todos,
            LabelWalker,
            *walks,
            openapi=todos_service.create_app().openapi(),
        ),
        "mcp": lambda: mcp_agreement(*walks),
    }
    results: dict[str, Any] = {"agreement": [tables[name]() for name in args.apis.split(",") if name]}
    if not args.agreement_only:
        results["speed"] = speed(todos, "/users/1", "/users/2/todos/5", 20_000)
        results["served"] = served(todos, "/users/1", "/users/2/todos/5", args.wrk_seconds, 3)
        results["memory"] = memory(todos, 1000, 10)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for row in results["agreement"]:
        print(f"{row['api']}: {row['steps']} steps in {row['walks']} walks: generalise {row['generalise']:.1%}, "
              f"plain replay {row['plain']:.1%}")  # fmt: skip
        for kind, shown in row["generalise_by_kind"].items():
            print(f"    {kind:<13} generalise {shown:>9}   plain {row['plain_by_kind'][kind]:>9}")
    if args.agreement_only:
        return
    s = results["speed"]
    print(f"engine.handle: recorded {s['recorded_per_s']:,}/s, synthesized {s['synthesized_per_s']:,}/s "
          f"({s['synthesized_vs_recorded']}x)")  # fmt: skip
    w = results["served"]
    if "skipped" in w:
        print(f"server: {w['skipped']}")
    else:
        print(f"server (wrk, 8 connections): recorded {w['recorded_per_s']:,}/s, synthesized "
              f"{w['synthesized_per_s']:,}/s ({w['synthesized_vs_recorded']}x; target >= 0.5x)")  # fmt: skip
    m = results["memory"]
    print(f"memory: {m['sessions']} sessions x {m['changes_each']} changes: +{m['grown_mb']} MB (target < 50 MB)")


if __name__ == "__main__":
    main()
