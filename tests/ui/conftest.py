"""A recorded shop eval to look at (real runs, their replay journal, the shop cassette), the inspector serving it
as `hudproxy ui` does, and headless Chromium (Debian's, through Playwright's Python API) for the page tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import HUDPROXY, hudproxy_listening, wide_environment
from ui_shop import CASSETTE, CHROMIUM, ROOT, SHOP, TASKS, ShopEval

from hudproxy.netutil import free_port


@pytest.fixture(scope="session")
def shop_eval(tmp_path_factory: pytest.TempPathFactory) -> ShopEval:
    """`hudproxy eval envs/shop` with the scripted agent, two trials of each task, the tools answered by a replay
    of cassettes/shop.yaml whose journal is kept (each run's calls under its session)."""
    folder = tmp_path_factory.mktemp("shop-eval")
    tasks, results, journal = folder / "tasks.jsonl", folder / "results.db", folder / "journal.db"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    env = {**wide_environment(), "HUDPROXY_SHOP_MODE": "replay", "HUDPROXY_SHOP_JOURNAL": str(journal)}
    argv = [HUDPROXY, "eval", str(SHOP), "--agent", "scripted", "--tasks", str(tasks), "--runs", "2",
            "--out", str(results)]  # fmt: skip
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    import sqlite3

    db = sqlite3.connect(results)
    runs: dict[str, list[str]] = {}
    for run_id, scenario, args in db.execute("select id, scenario, args from runs order by idx"):
        task = {"scenario": scenario, "args": json.loads(args)}
        runs.setdefault(json.dumps(task, sort_keys=True), []).append(run_id)
    db.close()
    return ShopEval(results, journal, runs)


@pytest.fixture(scope="module")
def inspector(shop_eval: ShopEval) -> Iterator[str]:
    """`hudproxy ui cassettes/shop.yaml --journal J --results R`: its base URL."""
    port = free_port()
    argv = ["ui", str(CASSETTE), "--journal", str(shop_eval.journal), "--results", str(shop_eval.results),
            "--port", str(port)]  # fmt: skip
    with hudproxy_listening(argv, port) as (_process, base_url):
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (Playwright's Python API)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
