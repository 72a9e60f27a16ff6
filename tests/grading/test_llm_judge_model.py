"""The judge against a real model: SmolLM2-135M behind llama-cpp-python's OpenAI-compatible server (`llm_server`).

The model is far too small for its verdicts to mean anything, so these tests hold the plumbing: every criterion
gets a verdict or a clear no-verdict reason, the second ask is a cache hit, and samples come to their majority.

Two ways to reach the model, one test body:
- `live`: the server itself (slow: starts it; skipped locally without the model, run by CI);
- `cassette`: its answers recorded once with hudproxy (`cassettes/smollm2-judge.yaml`), replayed with no server.
  Re-record with `pytest --hudproxy-record tests/grading/test_llm_judge_model.py` (starts the real server and a
  hudproxy `Recording` in front of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hudproxy.api import Recording, Replay, Session
from hudproxy.grading.judging import JudgeRequest, JudgeVerdict
from hudproxy.grading.llm_judge import LLMJudge

CASSETTE = Path(__file__).parent / "cassettes" / "smollm2-judge.yaml"
MODEL = "smollm2"  # tests/llm_server.py's alias
TRANSCRIPT = (
    "user: Refund 12.50 EUR on order A2 and e-mail the customer.\n"
    "assistant: [tool call] create_refund {\"order_id\": \"A2\", \"amount\": 12.5}\n"
    "tool: {\"id\": \"R1\", \"order_id\": \"A2\", \"amount\": 12.5}\n"
    "assistant: Refunded 12.50 EUR on order A2 and told the customer."
)
STATES_AMOUNT = JudgeRequest("States the refunded amount and the order id.", TRANSCRIPT,
                             ("POST /refunds → 201 (seq 2)",), run_id="e1-000000")  # fmt: skip
APOLOGISES = JudgeRequest("Apologises to the customer for the delay.", TRANSCRIPT, (), run_id="e1-000000")


@pytest.fixture(scope="module")
def cassette_server(request: pytest.FixtureRequest) -> Iterator[Replay | Recording]:
    """One replay of the cassette for the module, or (`--hudproxy-record`) one recording in front of the real
    server: every test's answers go into the one cassette."""
    if request.config.getoption("hudproxy_record"):
        server = request.getfixturevalue("llm_server")
        target = server.base_url.removesuffix("/v1")
        with Recording(CASSETTE, target=target, upstream_timeout=600) as recording:  # a CPU model may be slow
            yield recording
        return
    with Replay(CASSETTE) as replay:
        yield replay


@pytest.fixture(params=[pytest.param("live", marks=pytest.mark.slow), "cassette"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """The model's /v1 base URL: the live server, or a session of the cassette's replay (or recording)."""
    if request.param == "live":
        yield request.getfixturevalue("llm_server").base_url
        return
    session = request.getfixturevalue("cassette_server").session()
    yield f"{session.base_url}/v1"
    if isinstance(session, Session):
        missed = [f"{call.method} {call.path}" for call in session.calls() if not call.matched]
        session.close()
        assert not missed, f"the judge asked what the cassette does not hold (re-record it): {missed}"


def clear(verdict: JudgeVerdict) -> bool:
    """A verdict, or no verdict with a reason that says why (never a failed request: the model answered)."""
    if verdict.met is not None:
        return isinstance(verdict.reason, str)
    explained = verdict.reason.startswith(("no verdict: the judge answered", "no majority"))
    return explained and "failed" not in verdict.reason


def test_the_model_judges_and_the_second_ask_is_a_cache_hit(endpoint: str, tmp_path: Path) -> None:
    cache = tmp_path / "judge.db"
    judge = LLMJudge(MODEL, base_url=endpoint, cache=cache)
    verdicts = [judge(STATES_AMOUNT), judge(APOLOGISES)]
    assert all(clear(v) for v in verdicts), verdicts
    asked = judge.asked
    assert asked >= 2
    assert [judge(STATES_AMOUNT), judge(APOLOGISES)] == verdicts and judge.asked == asked
    fresh = LLMJudge(MODEL, base_url=endpoint, cache=cache)
    assert fresh(STATES_AMOUNT) == verdicts[0] and fresh.asked == 0


def test_three_samples_come_to_their_majority(endpoint: str, tmp_path: Path) -> None:
    judge = LLMJudge(MODEL, base_url=endpoint, cache=tmp_path / "judge.db", samples=3)
    verdict = judge(STATES_AMOUNT)
    assert clear(verdict) and len(verdict.samples) == 3, verdict
    if verdict.met is None:
        assert max(verdict.samples.count(True), verdict.samples.count(False)) < 2
    else:
        assert verdict.samples.count(verdict.met) >= 2
        assert verdict.reason.startswith(f"{verdict.samples.count(verdict.met)}/3 samples")
    asked = judge.asked
    assert judge(STATES_AMOUNT) == verdict and judge.asked == asked
