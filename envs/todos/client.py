"""The training script for the todos API: the fixed traffic recorded into cassettes/todos.yaml.

It touches every operation once or twice (bare-array and envelope lists, a followed `next` page, a filter,
create with `Location`, PUT, DELETE, reads after delete and of a missing user), which is what a resource model
needs to learn the API; the differential test then walks paths this script never took.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import httpx

TRAINING: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/users", None),
    ("GET", "/users/1", None),
    ("GET", "/users/1/todos?limit=2", None),
    ("GET", "/users/1/todos?offset=2&limit=2", None),
    ("GET", "/users/2/todos", None),
    ("GET", "/users/3/todos", None),
    ("GET", "/users/1/todos?done=true", None),
    ("GET", "/users/1/todos/1", None),
    ("POST", "/users/1/todos", {"title": "water plants"}),
    ("GET", "/users/1/todos/7", None),
    ("PUT", "/users/1/todos/7", {"title": "water all plants", "done": True}),
    ("GET", "/users/1/todos/7", None),
    ("DELETE", "/users/1/todos/7", None),
    ("GET", "/users/1/todos/7", None),
    ("GET", "/users/9", None),
    ("POST", "/users", {"name": "dee", "email": "dee@example.com"}),
    ("GET", "/users/4", None),
    ("GET", "/users/2/todos/4", None),
)


def run_script(base_url: str, timeout: float = 10.0) -> list[tuple[str, str, int]]:
    """Send the training requests in order; (method, path, status) per request."""
    out = []
    with httpx.Client(base_url=base_url, timeout=timeout, trust_env=False) as client:
        for method, path, body in TRAINING:
            response = client.request(method, path, json=body)
            out.append((method, path, response.status_code))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the todos training script.")
    parser.add_argument("--base-url", default="http://127.0.0.1:9001")
    args = parser.parse_args(argv)
    for method, path, status in run_script(args.base_url):
        print(f"{method:<6} {path:<40} {status}")


if __name__ == "__main__":
    main()
