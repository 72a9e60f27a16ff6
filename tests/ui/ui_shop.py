"""What the inspector's tests share: the recorded shop eval they look at (imported by name: `from ui_shop import
...`; a test module cannot import another folder's conftest reliably, pytest loads several)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "envs" / "shop"
CASSETTE = ROOT / "cassettes" / "shop.yaml"
CHROMIUM = "/usr/bin/chromium"
TASKS = [
    {"scenario": "update-order", "args": {"order_id": "A1"}},
    {"scenario": "update-order", "args": {"order_id": "A1", "status": "paid"}},  # never recorded: a miss, reward 0
    {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}},
]


@dataclass(frozen=True)
class ShopEval:
    results: Path
    journal: Path
    runs: dict[str, list[str]]  # task as JSON -> its run ids (two trials each)

    def run_of(self, task: int, trial: int = 0) -> str:
        return self.runs[json.dumps(TASKS[task], sort_keys=True)][trial]
