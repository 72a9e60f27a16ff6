"""`Recording` (the Python API's recording proxy): `upstream_timeout` decides how long a slow upstream (a local
LLM on a CPU) may take before the proxy gives up on it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from hudproxy.api import Recording
from hudproxy.cassette import load_cassette


def slow_app(seconds: float) -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(seconds)
        return {"answer": "late"}

    return app


def test_upstream_timeout_lets_a_slow_upstream_answer_or_cuts_it_off(upstream: Any, tmp_path: Path) -> None:
    target = upstream(slow_app(1.5))
    patient, hasty = tmp_path / "patient.yaml", tmp_path / "hasty.yaml"
    with Recording(patient, target, upstream_timeout=30) as recording:
        response = httpx.get(f"{recording.base_url}/slow", timeout=30)
    assert response.status_code == 200 and response.json() == {"answer": "late"}
    assert len(load_cassette(patient).interactions) == 1
    with Recording(hasty, target, upstream_timeout=0.3) as recording:
        response = httpx.get(f"{recording.base_url}/slow", timeout=30)
    assert response.status_code >= 500 and "timeout" in response.text
    assert not hasty.exists() or not load_cassette(hasty).interactions
