"""LLM cassettes: what a replayed model call costs, and how much faster a replayed LLM-agent eval is.

    python bench/llm_bench.py                 # both parts: 3,000 calls per side; an eval of 100 runs
    python bench/llm_bench.py --quick         # 500 calls; an eval of 20 runs
    python bench/llm_bench.py --calls-only    # part 1 only (no model needed)

1. Per call: the shop agent's first chat-completions request (its tools, about 2.8 KB, each call with its own
   `seed`, so each is a new request) sent one after the other on one keep-alive connection, (a) straight to a
   local server that answers at once with a canned completion, (b) to an LLM cassette's replay server
   (`LlmCassette(..., "replay")`) replaying the answer recorded for it, in the run's session. (b) - (a) is what
   hudproxy adds to a model call; target < 1 ms of CPU time per call (this process's: the client and both
   servers live in it, and CPU time is not inflated by other processes the way latency is on a busy machine);
   median latency is reported beside it.
2. Per eval: `run_eval(envs/shop, update-order, "openai:smollm2", runs=R, llm_mode="record")` against the real
   local model (llama-cpp-python + SmolLM2-135M, as tests/llm_server.py starts it), then the same eval with
   `llm_mode="replay"` and the server stopped; target: replay >= 20x faster, and identical transcripts. The
   shop's own tools are replayed in both (HUDPROXY_SHOP_MODE=replay), so the eval's time is the model's.

Both sides run in this process under the same conditions (servers on threads, loopback); the machine's load
skews both. Results go to bench/results-llm.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hudproxy.evaluation import run_eval  # noqa: E402
from hudproxy.llm import LlmCassette  # noqa: E402
from hudproxy.serving import serve_in_thread  # noqa: E402

SHOP = ROOT / "envs" / "shop"
TASK = {"scenario": "update-order", "args": {"order_id": "A1"}}
ANSWER = {"id": "chatcmpl-bench", "object": "chat.completion", "model": "bench",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 612, "completion_tokens": 2, "total_tokens": 614}}  # fmt: skip


def instant_model() -> Any:
    """A bare ASGI chat-completions server: drains the body, answers the canned completion (the floor)."""
    body = json.dumps(ANSWER).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def shop_request() -> bytes:
    """The first request the shop's openai agent sends (prompt and every tool), as the eval would."""
    from hudproxy.env.loader import load_env

    async def specs() -> list[Any]:
        async with load_env(SHOP) as env:
            return env.tool_specs()

    tools = [{**s.to_openai(), "function": {**s.to_openai()["function"], "name": s.name.replace(".", "_")}}
             for s in asyncio.run(specs())]  # fmt: skip
    prompt = "Update order A1 to shipped. Answer 'done' when it is."
    return json.dumps({"model": "bench", "messages": [{"role": "user", "content": prompt}], "tools": tools}).encode()


def latencies(sides: dict[str, tuple[str, dict[str, str]]], bodies: list[bytes]) -> dict[str, list[float]]:
    """Milliseconds per call on each side, one call after the other on one connection per side, in alternating
    blocks of 100 (after 100 calls of warm-up each), so a change of the machine's load hits both sides alike.
    Each call sends a request of its own (as an agent's calls are): no memo of a repeated body helps replay."""
    out: dict[str, list[float]] = {name: [] for name in sides}
    cpu_ms = dict.fromkeys(sides, 0.0)  # this process's CPU (client and both servers live here) per side
    clients = {name: httpx.Client(headers={"content-type": "application/json", **headers})
               for name, (_url, headers) in sides.items()}  # fmt: skip
    try:
        for name, (url, _headers) in sides.items():
            for body in bodies[:100]:
                clients[name].post(url, content=body).raise_for_status()
        for block in range(1, len(bodies) // 100):
            for name, (url, _headers) in sides.items():
                client, kept = clients[name], out[name]
                cpu = time.process_time()
                for body in bodies[block * 100 : (block + 1) * 100]:
                    started = time.perf_counter()
                    answer = client.post(url, content=body)
                    kept.append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:200]}")
                cpu_ms[name] += (time.process_time() - cpu) * 1000
    finally:
        for client in clients.values():
            client.close()
    return out | {f"{name}_cpu": [total / len(out[name])] for name, total in cpu_ms.items()}


def per_call(calls: int, work: Path) -> dict[str, Any]:
    first, cassette = json.loads(shop_request()), work / "calls.yaml"
    bodies = [json.dumps(first | {"seed": n}).encode() for n in range(calls + 100)]  # 100 of warm-up
    session = {"X-Hudproxy-Session": "run-000000", "Authorization": "Bearer sk-bench"}
    with serve_in_thread(instant_model()) as base:
        with LlmCassette(cassette, "record", f"{base}/v1") as llm, httpx.Client(headers=session) as client:
            for body in bodies:  # each request recorded once, to be replayed once
                client.post(f"{llm.base_url}/chat/completions", content=body).raise_for_status()
        with LlmCassette(cassette, "replay", f"{base}/v1") as llm:
            sides = {"direct": (f"{base}/v1/chat/completions", {}),
                     "replayed": (f"{llm.base_url}/chat/completions", session)}  # fmt: skip
            measured = latencies(sides, bodies)
    result: dict[str, Any] = {"calls": calls, "body_bytes": len(bodies[0]), "recorded": len(bodies)}
    for name in sides:
        values = measured[name]
        result[name] = {"cpu_ms_per_call": measured[f"{name}_cpu"][0], "median_ms": statistics.median(values),
                        "mean_ms": statistics.fmean(values),
                        "p95_ms": sorted(values)[int(0.95 * len(values))]}  # fmt: skip
    result["added_median_ms"] = result["replayed"]["median_ms"] - result["direct"]["median_ms"]
    result["added_mean_ms"] = result["replayed"]["mean_ms"] - result["direct"]["mean_ms"]
    result["added_cpu_ms"] = result["replayed"]["cpu_ms_per_call"] - result["direct"]["cpu_ms_per_call"]
    result["target_met"] = result["added_cpu_ms"] < 1  # latency is reported; on a busy machine it is mostly noise
    return result


def per_eval(runs: int, concurrency: int, work: Path) -> dict[str, Any]:
    import llm_server as llm

    reason = llm.missing()
    if reason is not None:
        return {"available": False, "reason": reason}
    cassette, options = work / "eval.yaml", {"runs": runs, "concurrency": concurrency, "seed": 1}
    server = llm.start(log=work / "llama-server.log")
    try:
        os.environ |= {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-bench"}
        os.environ["HUDPROXY_SHOP_MODE"] = "replay"  # the shop's tools replayed too, as an eval would run them
        started = time.perf_counter()
        recorded = asyncio.run(run_eval(SHOP, TASK, f"openai:{llm.MODEL_ALIAS}", out=work / "recorded.db",
                                        llm_cassette=cassette, llm_mode="record", **options))  # fmt: skip
        record_s = time.perf_counter() - started
    finally:
        server.stop()
    started = time.perf_counter()
    replayed = asyncio.run(run_eval(SHOP, TASK, f"openai:{llm.MODEL_ALIAS}", out=work / "replayed.db",
                                    llm_cassette=cassette, llm_mode="replay", **options))  # fmt: skip
    replay_s = time.perf_counter() - started
    same = _transcripts(work / "recorded.db") == _transcripts(work / "replayed.db")
    return {"available": True, "runs": runs, "concurrency": concurrency, "record_s": record_s,
            "replay_s": replay_s, "speedup": record_s / replay_s, "errors": [recorded.errors, replayed.errors],
            "tokens": dict(recorded.tokens), "identical_transcripts": same,
            "target_met": record_s / replay_s >= 20 and same}  # fmt: skip


def _transcripts(path: Path) -> list[str]:
    import sqlite_utils

    return [r["messages"] for r in sqlite_utils.Database(path)["transcripts"].rows_where(order_by="run_id")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 calls, an eval of 20 runs")
    parser.add_argument("--calls", type=int, help="calls per side in part 1 (default 3000, quick 500)")
    parser.add_argument("--runs", type=int, help="runs of the eval in part 2 (default 100, quick 20)")
    parser.add_argument("--concurrency", type=int, default=4, help="runs in flight in part 2")
    parser.add_argument("--calls-only", action="store_true", help="part 1 only (no local model needed)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-llm.json")
    args = parser.parse_args()
    calls = args.calls or (500 if args.quick else 3000)
    runs = args.runs or (20 if args.quick else 100)
    with tempfile.TemporaryDirectory(prefix="llm-bench-") as folder:
        work = Path(folder)
        results: dict[str, Any] = {"load_1min": os.getloadavg()[0], "per_call": per_call(calls, work)}
        one = results["per_call"]
        print(f"per call ({calls} calls, {one['body_bytes']} B request): direct median "
              f"{one['direct']['median_ms']:.3f} ms, replayed {one['replayed']['median_ms']:.3f} ms -> added "
              f"{one['added_median_ms']:.3f} ms median, {one['added_mean_ms']:.3f} ms mean; CPU per call "
              f"{one['direct']['cpu_ms_per_call']:.3f} -> {one['replayed']['cpu_ms_per_call']:.3f} ms, added "
              f"{one['added_cpu_ms']:.3f} ms "
              f"(target < 1 ms: {'met' if one['target_met'] else 'NOT met'})")  # fmt: skip
        if not args.calls_only:
            results["per_eval"] = whole = per_eval(runs, args.concurrency, work)
            if not whole["available"]:
                print(f"per eval: not available ({whole['reason']})")
            else:
                print(f"per eval ({runs} runs, concurrency {args.concurrency}): recorded against the model in "
                      f"{whole['record_s']:.1f} s, replayed in {whole['replay_s']:.2f} s -> {whole['speedup']:.0f}x "
                      f"(target >= 20x: {'met' if whole['target_met'] else 'NOT met'}); identical transcripts: "
                      f"{whole['identical_transcripts']}")  # fmt: skip
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
