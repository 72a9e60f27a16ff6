"""Deterministic example shop API that `hudproxy demo` records and replays.

Everything here is fixed (ids, timestamps, bytes) so that two recordings of the
same client script are byte-identical and replays can be compared exactly.
"""

import argparse
import asyncio
import contextlib
import copy
import gzip
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp

OrderStatus = Literal["pending", "paid", "shipped"]

FIXED_TIMESTAMP = "2026-01-01T00:00:00Z"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
ACCESS_TOKEN = "shop-secret-token-123"
SESSION_COOKIE = "shop_session=sess-abc-987; Path=/; HttpOnly"
CATALOG_IMAGE = bytes(range(256)) * 8
EVENT_COUNT = 4
EVENT_INTERVAL_S = 0.05

_SEED_STATUSES: tuple[OrderStatus, ...] = ("pending", "paid", "shipped")
_CUSTOMERS = ("alice", "bob", "carol", "dave")
_PRODUCTS = (("SKU-100", "mug", 9.5), ("SKU-200", "t-shirt", 19.0), ("SKU-300", "poster", 4.25))


class StatusUpdate(BaseModel):
    """Body of PATCH /orders/{id}; the Literal makes FastAPI answer 422 on bad input."""

    status: OrderStatus


class LoginRequest(BaseModel):
    """Body of POST /auth/token."""

    username: str
    password: str


class RefundRequest(BaseModel):
    """Body of POST /refunds."""

    order_id: str
    amount: float = Field(gt=0)


@dataclass
class ShopState:
    """Per-app mutable state, so every create_app() starts from the same seed."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_refund: int = 1

    def get_order(self, order_id: str) -> dict[str, Any]:
        """Return the stored order or raise the 404 the API documents."""
        order = self.orders.get(order_id)
        if order is None:
            raise HTTPException(status_code=404, detail=f"order {order_id} not found")
        return order

    def new_refund_id(self) -> str:
        """Hand out R1, R2, ... so refund ids are predictable per instance."""
        refund_id = f"R{self.next_refund}"
        self.next_refund += 1
        return refund_id


def _seed_order(number: int) -> dict[str, Any]:
    """Build order A<number> from its index alone, so the seed never varies."""
    items = []
    for offset in range(1 + number % 3):
        sku, name, price = _PRODUCTS[(number + offset) % len(_PRODUCTS)]
        items.append({"sku": sku, "name": name, "qty": 1 + (number + offset) % 2, "price": price})
    return {
        "id": f"A{number}",
        "customer": _CUSTOMERS[number % len(_CUSTOMERS)],
        "status": _SEED_STATUSES[(number - 1) % len(_SEED_STATUSES)],
        "total": round(sum(item["qty"] * item["price"] for item in items), 2),
        "created_at": FIXED_TIMESTAMP,
        "items": items,
    }


def seed_state() -> ShopState:
    """Fresh state with orders A1..A12 (A1 pending, A2 paid, A3 shipped, ...)."""
    return ShopState(orders={f"A{n}": _seed_order(n) for n in range(1, 13)})


def _paginate(items: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    """Slice one page and say whether another one follows."""
    start = (page - 1) * per_page
    has_next = start + per_page < len(items)
    return {
        "items": items[start : start + per_page],
        "page": page,
        "per_page": per_page,
        "total": len(items),
        "next_page": page + 1 if has_next else None,
    }


def _daily_report() -> dict[str, Any]:
    """A few KB of report JSON: a fixed snapshot of the seed, unaffected by later writes."""
    orders = seed_state().orders.values()
    hourly = [
        {"hour": f"{hour:02d}:00", "orders": (hour * 7) % 5, "revenue": (hour * 13) % 40 + 0.5}
        for hour in range(24)
    ]
    return {
        "date": "2026-01-01",
        "generated_at": FIXED_TIMESTAMP,
        "currency": "EUR",
        "orders": [
            {key: order[key] for key in ("id", "customer", "status", "total")} for order in orders
        ],
        "hourly": hourly,
        "notes": [f"line {n}: all figures are synthetic and deterministic" for n in range(30)],
    }


async def _event_stream() -> AsyncIterator[bytes]:
    """Emit EVENT_COUNT SSE events with a pause between them, like a live feed."""
    for index in range(EVENT_COUNT):
        if index:
            await asyncio.sleep(EVENT_INTERVAL_S)
        data = {"seq": index + 1, "order_id": f"A{index + 1}", "at": FIXED_TIMESTAMP}
        yield f"event: order\ndata: {json.dumps(data, sort_keys=True)}\n\n".encode()


def _add_order_routes(app: FastAPI, state: ShopState) -> None:
    """Order read, update and search endpoints."""

    @app.get("/orders")
    def search_orders(
        status: OrderStatus | None = None,
        page: int = Query(1, ge=1),
        per_page: int = Query(5, ge=1, le=50),
    ) -> dict[str, Any]:
        matches = [o for o in state.orders.values() if status is None or o["status"] == status]
        return _paginate(copy.deepcopy(matches), page, per_page)

    @app.get("/orders/{order_id}")
    def get_order(order_id: str) -> dict[str, Any]:
        return copy.deepcopy(state.get_order(order_id))

    @app.patch("/orders/{order_id}")
    def update_order(order_id: str, update: StatusUpdate) -> dict[str, Any]:
        order = state.get_order(order_id)
        order["status"] = update.status
        return copy.deepcopy(order)


def _add_auth_routes(app: FastAPI, state: ShopState) -> None:
    """Login and the token-protected refund endpoint (secrets for redaction)."""

    @app.post("/auth/token")
    def login(credentials: LoginRequest) -> dict[str, str]:
        if (credentials.username, credentials.password) != (DEMO_USERNAME, DEMO_PASSWORD):
            raise HTTPException(status_code=401, detail="invalid credentials")
        return {"access_token": ACCESS_TOKEN, "token_type": "bearer"}

    @app.post("/refunds", status_code=201)
    def create_refund(
        refund: RefundRequest, authorization: str | None = Header(default=None)
    ) -> JSONResponse:
        if authorization != f"Bearer {ACCESS_TOKEN}":
            raise HTTPException(
                status_code=401,
                detail="missing or invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        state.get_order(refund.order_id)
        body = {
            "id": state.new_refund_id(),
            "order_id": refund.order_id,
            "amount": refund.amount,
            "status": "approved",
        }
        return JSONResponse(body, status_code=201, headers={"Set-Cookie": SESSION_COOKIE})


def _add_content_routes(app: FastAPI) -> None:
    """Health plus the unusual bodies: gzip, SSE and binary."""

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/reports/daily")
    def daily_report() -> Response:
        raw = json.dumps(_daily_report(), sort_keys=True).encode()
        return Response(
            content=gzip.compress(raw, mtime=0),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    @app.get("/events")
    def events() -> StreamingResponse:
        return StreamingResponse(
            _event_stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/catalog/image")
    def catalog_image() -> Response:
        return Response(content=CATALOG_IMAGE, media_type="application/octet-stream")


def create_app() -> FastAPI:
    """Build the shop with fresh seed state, so each recording starts identical."""
    app = FastAPI(title="hudproxy example shop", version="1.0.0")
    state = seed_state()
    _add_content_routes(app)
    _add_order_routes(app, state)
    _add_auth_routes(app, state)
    return app


def _bind(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn so port 0 yields a known free port with no race.

    IPPROTO_TCP must be explicit: asyncio only sets TCP_NODELAY on accepted
    connections whose proto is TCP, and without it each response waits ~40 ms.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float) -> None:
    """Block until uvicorn accepts connections; fail fast if its thread died."""
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("shop service did not start")
        time.sleep(0.01)


@contextlib.contextmanager
def serve_in_thread(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0
) -> Iterator[str]:
    """Serve `app` on a real socket in a background thread; yield its base URL.

    Used by tests and by `hudproxy demo`, which must start and stop the service
    in-process. port=0 picks a free port. The server stops when the block exits.
    """
    sock = _bind(host, port)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    if hasattr(server, "install_signal_handlers"):  # older uvicorn; not allowed off the main thread
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="shop-service", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread, startup_timeout)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry point: `python envs/shop/service.py --port 9000`."""
    parser = argparse.ArgumentParser(description="Run the hudproxy example shop service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
