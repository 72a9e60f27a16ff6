"""Record the training script into a cassette: `python -m envs.todos.record cassettes/todos.yaml`.

The same path `hudproxy demo` takes for the shop: a fresh API in a thread, hudproxy's recording reverse proxy in
front of it, the scripted client through the proxy.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from envs.todos.client import run_script
from envs.todos.service import create_app
from hudproxy.record.background import recording_proxy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.serving import serve_in_thread


def record(path: Path) -> list[tuple[str, str, int]]:
    path.unlink(missing_ok=True)
    with serve_in_thread(create_app()) as upstream:
        recorder = Recorder(path, RecordMode.ALL, target=upstream)
        with recording_proxy(recorder, upstream) as proxy_url:
            return run_script(proxy_url)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record the todos training script into a cassette.")
    parser.add_argument("cassette", type=Path, nargs="?", default=Path("cassettes/todos.yaml"))
    args = parser.parse_args(argv)
    for method, target, status in record(args.cassette):
        print(f"{method:<6} {target:<40} {status}")


if __name__ == "__main__":
    main()
