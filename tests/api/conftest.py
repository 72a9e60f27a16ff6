"""Cassettes for the Python API tests, built with `hudproxy.testing` and saved as real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hudproxy.cassette import save_cassette
from hudproxy.interaction import Interaction
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

API = "http://shop.test"
ORDER_IDS = [f"A{n}" for n in range(20)]


def order_story(order_id: str) -> list[Interaction]:
    """GET before (pending), PATCH to shipped, GET after (shipped): state the replay must follow per session."""
    url = f"{API}/orders/{order_id}"
    return [
        make_interaction(make_request("GET", url), make_response(json={"id": order_id, "status": "pending"})),
        make_interaction(
            make_request("PATCH", url, json={"status": "shipped"}),
            make_response(json={"id": order_id, "status": "shipped"}),
        ),
        make_interaction(make_request("GET", url), make_response(json={"id": order_id, "status": "shipped"})),
    ]


@pytest.fixture
def order_ids() -> list[str]:
    """The orders in `orders_cassette`."""
    return list(ORDER_IDS)


@pytest.fixture
def orders_cassette(tmp_path: Path) -> Path:
    """Twenty orders, each with its GET / PATCH / GET story."""
    interactions = [i for order_id in ORDER_IDS for i in order_story(order_id)]
    return save_cassette(make_cassette(interactions), tmp_path / "orders.yaml")


@pytest.fixture
def shop_cassette(tmp_path: Path) -> Path:
    """Auth, one order's story, a refund and a search with a query string."""
    interactions = [
        make_interaction(make_request("POST", f"{API}/auth/token", json={"user": "ada"}), make_response(json={"t": 1})),
        *order_story("A1"),
        make_interaction(
            make_request("POST", f"{API}/refunds", json={"order": "A1", "amount": 5, "reason": "late"}),
            make_response(201, json={"id": "R1"}),
        ),
        make_interaction(make_request("GET", f"{API}/search?q=shoes&page=2"), make_response(json={"hits": []})),
    ]
    return save_cassette(make_cassette(interactions), tmp_path / "shop.yaml")
