"""The admin tests' server: a real replay server with the admin API, on loopback, over a state-aware shop cassette.

Interactions: 0 GET /orders/A1 (pending), 1 PATCH /orders/A1, 2 GET /orders/A1 (shipped),
3 GET /orders?page=1, 4 POST /orders (201). Journal in tmp_path unless a test turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from hudproxy.interaction.model import Interaction
from hudproxy.replay.asgi import ReplayApp
from hudproxy.testing import make_interaction, make_request, make_response

API = "http://api.test"


def shop_cassette() -> list[Interaction]:
    get_a1 = make_request("GET", f"{API}/orders/A1")
    return [
        make_interaction(get_a1, make_response(json={"id": "A1", "status": "pending"})),
        make_interaction(
            make_request("PATCH", f"{API}/orders/A1", json={"status": "shipped"}),
            make_response(json={"id": "A1", "status": "shipped"}),
        ),
        make_interaction(get_a1, make_response(json={"id": "A1", "status": "shipped"})),
        make_interaction(make_request("GET", f"{API}/orders?page=1"), make_response(json={"orders": ["A1"]})),
        make_interaction(
            make_request("POST", f"{API}/orders", json={"sku": "SKU-100"}), make_response(201, json={"id": "A2"})
        ),
    ]


@dataclass
class Server:
    """A running replay server: its base URL, the app (to look inside) and a client for it."""

    url: str
    app: ReplayApp
    client: httpx.Client
    journal: Path | None


Start = Callable[..., Server]
