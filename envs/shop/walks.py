"""Seeded random walks over the shop API for the `--generalise` differential harness (bench/generalise_bench.py).

The shop's recording (cassettes/shop.yaml) shows five orders (A1, A2, A5, A8, A11), a PATCH, one refund, the
status=paid pages and a 404. Walks stay where that recording can know the answer: reads and PATCHes of those
orders, reads of missing orders, refunds of them, and lists filtered on `paid`, the one status whose members
the recording listed completely. (A `pending` list would need orders A4, A7, A10 that nobody recorded.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

KNOWN = ("A1", "A2", "A5", "A8", "A11")
STATUSES = ("pending", "paid", "shipped")


@dataclass(frozen=True)
class Step:
    kind: str
    method: str
    path: str
    body: Any = None


@dataclass
class ShopWalker:
    rng: random.Random
    refunds: int = 0
    seen: list[str] = field(default_factory=list)

    def next_step(self) -> Step:
        rng = self.rng
        roll = rng.random()
        order = rng.choice(KNOWN)
        if roll < 0.3:
            return Step("read", "GET", f"/orders/{order}")
        if roll < 0.5:
            return Step("update", "PATCH", f"/orders/{order}", {"status": rng.choice(STATUSES)})
        if roll < 0.7:
            page, size = rng.randint(1, 2), rng.randint(1, 4)
            return Step("list", "GET", f"/orders?status=paid&page={page}&per_page={size}")
        if roll < 0.85:
            return Step("create", "POST", "/refunds", {"order_id": order, "amount": rng.choice([1.5, 5.0, 20.0])})
        return Step("read-missing", "GET", f"/orders/{rng.choice(['A77', 'B2', 'ZZ', 'Q9'])}")

    def learn(self, step: Step, status: int, data: Any) -> None:
        if step.kind == "create" and status == 201:
            self.refunds += 1
