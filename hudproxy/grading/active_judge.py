"""Which judge answers `judge:` criteria right now: the one `hudproxy eval --judge MODEL` (or `hudproxy grade`)
chose, found by rubric scoring wherever it runs, without threading a judge through every call in between.

    with judging_with(judge):          # run_eval does this for the eval's runs
        current_judge()                # → judge (asyncio tasks started inside see it too)

A Ray worker is another process: it finds $HUDPROXY_JUDGE (and $HUDPROXY_JUDGE_SAMPLES), which run_eval passes
on, and builds the same judge from its environment once. No judge: `current_judge()` is None and scoring marks
`judge:` criteria not applicable.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextvars import ContextVar

from hudproxy.grading.judging import Judge

JUDGE_ENV = "HUDPROXY_JUDGE"
SAMPLES_ENV = "HUDPROXY_JUDGE_SAMPLES"
_current: ContextVar[Judge | None] = ContextVar("hudproxy_judge", default=None)
_from_environment: dict[tuple[str, int], Judge] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def judging_with(judge: Judge | None) -> Iterator[None]:
    token = _current.set(judge)
    try:
        yield
    finally:
        _current.reset(token)


def current_judge() -> Judge | None:
    found = _current.get()
    if found is not None:
        return found
    model = os.environ.get(JUDGE_ENV)
    if not model:
        return None
    samples = int(os.environ.get(SAMPLES_ENV) or 1)
    with _lock:
        if (model, samples) not in _from_environment:
            from hudproxy.grading.llm_judge import judge_from_environment

            _from_environment[(model, samples)] = judge_from_environment(model, samples=samples)
        return _from_environment[(model, samples)]


def environment_for(model: str, samples: int) -> dict[str, str]:
    """The variables a worker process needs to build the same judge (its endpoint and key it reads itself)."""
    return {JUDGE_ENV: model, SAMPLES_ENV: str(samples)}
