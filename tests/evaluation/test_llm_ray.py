"""An LLM cassette on the Ray backend: an eval recorded locally replays on two Ray actors (model server stopped),
each worker's model calls going to the driver's hudproxy server, with the same transcripts, journals and rewards."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from eval_helpers import SHOP, rows

from hudproxy.evaluation import run_eval
from hudproxy.serving import serve_in_thread
from tests.llm.fake_model import fake_model

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")
TASKS = [{"scenario": "update-order", "args": {"order_id": "A1"}, "repeats": 6}]


def test_an_eval_recorded_locally_replays_on_ray(
    local_ray: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    cassette, options = tmp_path / "llm.yaml", {"seed": 2, "llm_stream": True}
    with serve_in_thread(fake_model(seen)) as base:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
        asyncio.run(run_eval(SHOP, TASKS, "openai:fake", out=tmp_path / "local.db", llm_cassette=cassette,
                             llm_mode="record", **options))  # fmt: skip
    monkeypatch.delenv("OPENAI_API_KEY")
    summary = asyncio.run(run_eval(SHOP, TASKS, "openai:fake", out=tmp_path / "ray.db", llm_cassette=cassette,
                                   llm_mode="replay", backend="ray", workers=2, **options))  # fmt: skip
    assert (summary.backend, summary.finished, summary.errors, summary.mean_reward) == ("ray", 6, 0, 1.0)
    assert len(seen) == 12  # recorded once; Ray's replay never reached the (stopped) model
    for table in ("runs", "calls", "transcripts"):
        local = [{k: v for k, v in r.items() if k != "worker"} for r in rows(tmp_path / "local.db", table)]
        assert rows(tmp_path / "ray.db", table) == local, table
