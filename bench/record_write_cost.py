"""The recorder's own cost per response, in process (no network, no proxy): `Recorder.on_response` p50/p99.

With write-before-answer this is what a client waits for beyond the proxy: scrubbing, numbering and one log
line handed to the OS. Compare two checkouts side by side (the old writer answered first and wrote later):

    PYTHONPATH=/path/to/old python bench/record_write_cost.py old
    PYTHONPATH=$PWD python bench/record_write_cost.py new
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hudproxy.record.recorder import Recorder
from hudproxy.testing import make_request, make_response

CALLS = 2000


def main() -> int:
    label = sys.argv[1] if len(sys.argv) > 1 else "this checkout"
    body = json.dumps({"items": [{"id": i, "name": f"item {i}", "price": i * 1.5} for i in range(40)]}).encode()
    for suffix in (".yaml", ".json"):
        with tempfile.TemporaryDirectory() as tmp:
            recorder = Recorder(Path(tmp) / f"cost{suffix}", "all", target="http://127.0.0.1:9")
            times = []
            for n in range(CALLS):
                request = make_request("GET", f"http://127.0.0.1:9/items/{n}", headers=[("Accept", "*/*")])
                response = make_response(body=body, headers=[("Content-Type", "application/json")])
                began = time.perf_counter()
                recorder.on_response(request, response, 1.0)
                times.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            recorder.close()
            stop_s = time.perf_counter() - began
        times.sort()
        print(f"{label} {suffix}: on_response p50 {statistics.median(times):.3f} ms  "
              f"p99 {times[int(len(times) * 0.99)]:.3f} ms  stop {stop_s:.2f} s  ({CALLS} responses)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
