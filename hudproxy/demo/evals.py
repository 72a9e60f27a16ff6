"""The demo's last step: isolated runs of two shop scenarios, all against the replay of the fresh recording."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from hudproxy import hub
from hudproxy.evaluation import EvalSummary, run_eval
from hudproxy.evaluation.progress import EvalProgress

AGENT = "scripted"  # the shop registers its scripted plans (envs/shop/agents.py) under this name
TASKS = [
    {"scenario": "update-order", "args": {"order_id": "A1"}},
    {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}},
]


def eval_shop(cassette: Path, runs: int, console: Console) -> EvalSummary:
    """`runs` runs split over the two scenarios, 32 at a time, each in its own replay session of `cassette`."""
    console.print(f"6. {runs} isolated runs of two shop scenarios against the replay of {cassette}")
    with _replay_mode(cassette), _quiet(), EvalProgress(console) as progress:
        summary = asyncio.run(run_eval(hub.hub_dir() / "shop", TASKS, AGENT, runs=max(1, runs // len(TASKS)),
                                       concurrency=32, on_start=progress.on_start,
                                       on_result=progress.on_result))  # fmt: skip
    console.print(summary.table())
    return summary


@contextlib.contextmanager
def _replay_mode(cassette: Path) -> Iterator[None]:
    """The shop env's replay mode (envs/shop/setup/replay.py) on this cassette, for the duration of the step."""
    wanted = {"HUDPROXY_SHOP_MODE": "replay", "HUDPROXY_SHOP_CASSETTE": str(cassette)}
    before = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The refund grader's unmatched read would log once per run; the table says it once."""
    logger = logging.getLogger("hudproxy")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
