"""Scripted client for the example shop: the fixed traffic `hudproxy demo` records.

The sequence never varies, so a live run, a recording and a replay of it can be
compared step by step.
"""

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

SEARCH_PER_PAGE = 3
LOGIN = {"username": "demo", "password": "demo-password"}
REFUND = {"order_id": "A2", "amount": 12.5}


@dataclass(frozen=True)
class Step:
    """One request of the script and what came back (body already decoded)."""

    name: str
    method: str
    path: str
    status: int
    body: bytes


def _request(client: httpx.Client, name: str, method: str, path: str, **kwargs: Any) -> Step:
    """Send one request and keep the decoded body (httpx undoes gzip)."""
    response = client.request(method, path, **kwargs)
    return Step(name, method, path, response.status_code, response.content)


def _stream(client: httpx.Client, name: str, path: str) -> Step:
    """Read a streamed response (SSE) to its end, as a real consumer would."""
    with client.stream("GET", path) as response:
        body = b"".join(response.iter_bytes())
        return Step(name, "GET", path, response.status_code, body)


def _token(login: Step) -> str:
    """Bearer token from the login step ("" if login failed, so the refund shows a 401)."""
    if login.status != 200:
        return ""
    return str(json.loads(login.body).get("access_token", ""))


def _search(page: int) -> str:
    """Path of one page of the status=paid search."""
    return f"/orders?status=paid&page={page}&per_page={SEARCH_PER_PAGE}"


def _orders_part(client: httpx.Client) -> list[Step]:
    """Reads, login and a state change; the PATCH sits between two GETs of A1."""
    return [
        _request(client, "health", "GET", "/health"),
        _request(client, "get_order", "GET", "/orders/A1"),
        _request(client, "get_order_again", "GET", "/orders/A1"),
        _request(client, "login", "POST", "/auth/token", json=LOGIN),
        _request(client, "ship_order", "PATCH", "/orders/A1", json={"status": "shipped"}),
        _request(client, "get_shipped_order", "GET", "/orders/A1"),
        _request(client, "search_paid_page_1", "GET", _search(1)),
        _request(client, "search_paid_page_2", "GET", _search(2)),
    ]


def _content_part(client: httpx.Client, token: str) -> list[Step]:
    """Look up the order to refund (an agent would), the authenticated write, then gzip, SSE, binary, 404."""
    auth = {"Authorization": f"Bearer {token}"}
    return [
        _request(client, "get_refund_order", "GET", f"/orders/{REFUND['order_id']}"),
        _request(client, "refund", "POST", "/refunds", json=REFUND, headers=auth),
        _request(client, "daily_report", "GET", "/reports/daily"),
        _stream(client, "events", "/events"),
        _request(client, "catalog_image", "GET", "/catalog/image"),
        _request(client, "missing_order", "GET", "/orders/ZZ"),
    ]


def _script(client: httpx.Client) -> list[Step]:
    """The fixed request sequence, in order."""
    first = _orders_part(client)
    login = next(step for step in first if step.name == "login")
    return first + _content_part(client, _token(login))


def run_script(base_url: str, *, proxy: str | None = None, timeout: float = 10.0) -> list[Step]:
    """Run the demo script against `base_url` and return every step in order.

    `proxy` optionally routes through a forward proxy; environment proxy
    variables are ignored so the traffic goes exactly where the caller says.
    """
    with httpx.Client(base_url=base_url, proxy=proxy, timeout=timeout, trust_env=False) as client:
        return _script(client)


def format_step(step: Step) -> str:
    """One human-readable line per step, for the CLI and the demo output."""
    return f"{step.name:<20} {step.method:<6} {step.path:<42} {step.status} {len(step.body)}B"


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry point: `python envs/shop/client.py --base-url http://127.0.0.1:9000`."""
    parser = argparse.ArgumentParser(description="Run the scripted shop client.")
    parser.add_argument("--base-url", default="http://127.0.0.1:9000")
    args = parser.parse_args(argv)
    for step in run_script(args.base_url):
        print(format_step(step))


if __name__ == "__main__":
    main()
