"""`hudproxy verify` of 1,000 recorded reads against a local server (target: under 10 s), beside the floor.

    python bench/verify_bench.py [--n 1000] [--repeat 3]

The live server (this script with `--serve PORT`, a bare ASGI app under uvicorn in its own process) answers
`GET /items/<i>` with about 1 KB of JSON that is a pure function of i, plus an `updated_at` that changes every
call; every 10th item has drifted since the recording (a field removed, a type changed). The cassette is built
from the same function with a fixed `updated_at`, as a recording would have stored it.

Rows (best of --repeat, seconds):
- `floor`: the same 1,000 GETs with one httpx client and nothing else (what sending alone costs);
- `verify (in-process)`: `hudproxy.drift.verify.verify`, with `/updated_at` declared volatile;
- `verify --learn-volatile (in-process)`: each read sent twice, the volatile fields learned;
- `hudproxy verify --json (CLI)`: the command a CI job runs, process start and cassette load included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def item(i: int, updated_at: str, live: bool) -> dict[str, Any]:
    """Item i as recorded, or as the live system answers it now (every 10th has drifted)."""
    drifted = live and i % 10 == 0
    body: dict[str, Any] = {
        "id": i,
        "name": f"item {i}",
        "price": f"{i * 1.5:.2f}" if drifted else i * 1.5,
        "tags": [f"tag-{i % 7}", f"tag-{i % 11}"],
        "stock": {"warehouse": f"W{i % 3}", "count": i % 50},
        "description": "a deterministic item for the verify benchmark " * 12,
        "updated_at": updated_at,
    }
    if not drifted:
        body["sku"] = f"SKU-{i:05d}"
    return body


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The live system: bare ASGI, so the figure is verify's cost and not a framework's."""
    if scope["type"] != "http":
        return
    index = int(scope["path"].rsplit("/", 1)[-1])
    body = json.dumps(item(index, dt.datetime.now(dt.UTC).isoformat(), live=True)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def write_cassette(path: Path, n: int, base: str) -> None:
    from hudproxy.cassette.files import save_cassette
    from hudproxy.cassette.model import Cassette
    from hudproxy.scrub.policy import ScrubPolicy
    from hudproxy.testing import make_interaction, make_request, make_response

    stamp = "2026-01-01T00:00:00.000Z"
    interactions = [
        make_interaction(
            make_request("GET", f"{base}/items/{i}", headers=[("Accept", "application/json")]),
            make_response(json=item(i, stamp, live=False)),
            index=i,
            recorded_at=stamp,
        )
        for i in range(n)
    ]
    meta = {"format": 1, "target": base, "scrub": ScrubPolicy.default().to_dict()}
    save_cassette(Cassette(interactions, meta), path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the live server did not listen on {port}")


def best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="recorded reads (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row, the best counts (default 3)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    sys.path.insert(0, str(ROOT))
    import httpx

    from hudproxy.drift.options import VerifyOptions
    from hudproxy.drift.verify import verify
    from hudproxy.drift.volatile import Volatile

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    folder = Path(tempfile.mkdtemp(prefix="verify-bench-"))
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        wait_listening(port)
        cassette = folder / "items.yaml"
        write_cassette(cassette, args.n, base)
        paths = [f"{base}/items/{i}" for i in range(args.n)]

        def floor() -> None:
            with httpx.Client() as client:
                for url in paths:
                    client.get(url).read()

        declared = Volatile.from_options(["/updated_at"])
        in_process = VerifyOptions(volatile=declared, volatile_file=folder / "none.yaml")
        learning = VerifyOptions(learn=True, volatile_file=folder / "learned.yaml")
        report = verify(cassette, in_process)
        counts = report.counts()
        assert counts["breaking"] == args.n // 10 and counts["same"] == args.n - args.n // 10, counts
        command = [shutil.which("hudproxy") or "hudproxy", "verify", str(cassette), "--ignore", "/updated_at",
                   "--volatile-file", str(folder / "none.yaml"), "--json"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        rows = {
            "floor (httpx GET loop)": best(floor, args.repeat),
            "verify (in-process)": best(lambda: verify(cassette, in_process), args.repeat),
            "verify --learn-volatile (in-process)": best(lambda: verify(cassette, learning), args.repeat),
            "hudproxy verify --json (CLI)": best(
                lambda: subprocess.run(command, capture_output=True, env=env, check=False), args.repeat
            ),
        }
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    floor_s = rows["floor (httpx GET loop)"]
    print(f"verify of {args.n} recorded reads against a local server (best of {args.repeat}; target < 10 s)")
    print(f"{'row':40} {'seconds':>8} {'x floor':>8}")
    for name, seconds in rows.items():
        print(f"{name:40} {seconds:8.2f} {seconds / floor_s:8.1f}")
    worst = rows["hudproxy verify --json (CLI)"]
    print(f"{'PASS' if worst < 10 else 'FAIL'}: the CLI verified {args.n} interactions in {worst:.2f} s")


if __name__ == "__main__":
    main()
