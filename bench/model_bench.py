"""How long learning a resource model takes, beside what replay already pays to load the same cassette.

    python bench/model_bench.py                 # 100,000 interactions, median of 3 runs
    python bench/model_bench.py --n 20000 --runs 5

The cassette is built in memory, a pure function of the index: a CRUD API with nested resources
(`/customers/{int}`, `/customers/{id}/orders/{ord_N}`), envelope lists with pages, creates with Location,
PATCH, PUT, DELETE and 404s, JSON bodies of 150-400 bytes. Reported: learning time and the time to build the
replay index (`CassetteIndex`, what every replay server does at start) for the same interactions, and their
ratio. Target (issue 16): learning 100,000 interactions in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import orjson

from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.matching.index import CassetteIndex
from hudproxy.matching.policy import MatchPolicy
from hudproxy.resources.learn import learn_model

BASE = "http://api.example.test"
JSON = (("content-type", "application/json"),)


def customer(n: int) -> dict[str, object]:
    return {"id": n, "name": f"customer {n}", "email": f"c{n}@example.test", "tier": ("gold", "silver")[n % 2],
            "created_at": "2026-01-01T00:00:00Z", "address": {"city": "Paris", "zip": f"{75000 + n % 20}"}}  # fmt: skip


def order(c: int, n: int) -> dict[str, object]:
    return {"id": f"ord_{n}", "customer_id": c, "status": ("new", "paid", "sent")[n % 3], "total": n % 97 + 0.5,
            "lines": [{"sku": f"SKU-{n % 50}", "qty": 1 + n % 3}]}  # fmt: skip


def exchange(index: int, method: str, path: str, status: int, body: object = None, sent: object = None,
             headers: tuple[tuple[str, str], ...] = ()) -> Interaction:  # fmt: skip
    request_body = orjson.dumps(sent) if sent is not None else b""
    response_body = orjson.dumps(body) if body is not None else b""
    return Interaction(
        Request(method, BASE + path, JSON if sent is not None else (), request_body),
        Response(status, "", JSON + headers if body is not None else headers, response_body),
        index,
    )


def make_cassette(n: int) -> list[Interaction]:
    """`n` interactions cycling through 10 kinds of request over a growing id space."""
    out: list[Interaction] = []
    i = 0
    while len(out) < n:
        c, k = i + 1, len(out)
        kind = i % 10
        if kind in (0, 1, 2):
            out.append(exchange(k, "GET", f"/customers/{c}", 200, customer(c)))
        elif kind == 3:
            page = [customer(c + j) for j in range(5)]
            out.append(
                exchange(
                    k,
                    "GET",
                    f"/customers?page={c % 40 + 1}&per_page=5",
                    200,
                    {"items": page, "page": c % 40 + 1, "per_page": 5, "total": n, "next": c % 40 + 2},
                )
            )
        elif kind == 4:
            out.append(exchange(k, "GET", f"/customers/{c}/orders/ord_{c}", 200, order(c, c)))
        elif kind == 5:
            sent = {"customer_id": c, "status": "new", "total": 1.5, "lines": []}
            created = {**order(c, n + c), **sent}
            out.append(
                exchange(
                    k,
                    "POST",
                    f"/customers/{c}/orders",
                    201,
                    created,
                    sent,
                    (("location", f"/customers/{c}/orders/ord_{n + c}"),),
                )
            )
        elif kind == 6:
            out.append(exchange(k, "PATCH", f"/customers/{c}", 200, {**customer(c), "tier": "gold"}, {"tier": "gold"}))
        elif kind == 7:
            sent = {"name": "renamed", "email": "r@example.test", "tier": "silver", "address": {"city": "Lyon"}}
            out.append(
                exchange(
                    k, "PUT", f"/customers/{c}", 200, {"id": c, **sent, "created_at": "2026-01-01T00:00:00Z"}, sent
                )
            )
        elif kind == 8:
            out.append(exchange(k, "DELETE", f"/customers/{c}/orders/ord_{c}", 204))
        else:
            out.append(
                exchange(k, "GET", f"/customers/{n * 10 + c}", 404, {"detail": f"customer {n * 10 + c} not found"})
            )
        i += 1
    return out


def timed(run: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds: on a shared machine the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="interactions (default 100,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    interactions = make_cassette(args.n)
    model = learn_model(interactions)
    learn_s, learn_cpu = timed(lambda: learn_model(interactions), args.runs)
    index_s, index_cpu = timed(lambda: CassetteIndex(interactions, MatchPolicy.build()), args.runs)
    result = {
        "interactions": args.n,
        "learn_s": round(learn_s, 3),
        "learn_cpu_s": round(learn_cpu, 3),
        "replay_index_s": round(index_s, 3),
        "replay_index_cpu_s": round(index_cpu, 3),
        "learn_vs_index": round(learn_cpu / index_cpu, 2),
        "load_average": round(os.getloadavg()[0], 2),
        "resources": [r.name for r in model.resources],
        "target_s": 2.0,
        "met": learn_cpu < 2.0,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.n:,} interactions: learn {learn_s:.3f} s wall / {learn_cpu:.3f} s CPU, replay index "
        f"{index_s:.3f} s wall / {index_cpu:.3f} s CPU (learn = {result['learn_vs_index']}x the index, CPU); "
        f"target < 2 s CPU: {'met' if result['met'] else 'MISSED'}; load average {result['load_average']}"
    )
    print(f"resources: {', '.join(result['resources'])}")


if __name__ == "__main__":
    main()
