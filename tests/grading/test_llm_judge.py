"""LLMJudge over HTTP against a scripted OpenAI-compatible server on loopback: the one retry after a reply in the
wrong shape, the response_format ladder, samples and their majority, the cache, and an unreachable judge.
(The real model's answers: test_llm_judge_model.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chat_stub import MET, UNMET, chat_server, format_kind

from hudproxy.errors import ConfigError
from hudproxy.grading.judge_answers import CORRECTION
from hudproxy.grading.judge_cache import JudgeCache
from hudproxy.grading.judging import JudgeRequest
from hudproxy.grading.llm_judge import LLMJudge, judge_from_environment

REQUEST = JudgeRequest("States the refunded amount and the order id.",
                       "user: Refund 12.50 EUR on A2\nassistant: Refunded 12.50 EUR on order A2.",
                       ("POST /refunds → 201 (seq 2)",), run_id="e1-000001")  # fmt: skip
Reply = Callable[[dict[str, Any]], str]


def judge_on(upstream: Any, reply: Reply, tmp_path: Path, refuse: tuple[str, ...] = (), **options: Any) -> tuple[
        LLMJudge, list[dict[str, Any]]]:  # fmt: skip
    seen: list[dict[str, Any]] = []
    base = upstream(chat_server(reply, seen, refuse))
    return LLMJudge("judge-model", base_url=f"{base}/v1", cache=tmp_path / "judge.db", **options), seen


def corrected(body: dict[str, Any]) -> bool:
    return body["messages"][-1]["content"] == CORRECTION


def test_a_strict_answer_is_the_verdict_and_asks_once(upstream: Any, tmp_path: Path) -> None:
    judge, seen = judge_on(upstream, lambda body: MET, tmp_path)
    verdict = judge(REQUEST)
    assert (verdict.met, verdict.reason, verdict.samples) == (True, "states 12.50 EUR and A2", (True,))
    (body,) = seen
    assert body["model"] == "judge-model" and (body["temperature"], body["seed"]) == (0.0, 0)
    assert body["response_format"]["type"] == "json_schema" and body["authorization"] is None
    assert "Refunded 12.50 EUR on order A2." in body["messages"][1]["content"]


def test_a_reply_in_the_wrong_shape_gets_one_retry(upstream: Any, tmp_path: Path) -> None:
    judge, seen = judge_on(upstream, lambda body: UNMET if corrected(body) else "UNMET, no amount given", tmp_path)
    verdict = judge(REQUEST)
    assert (verdict.met, verdict.reason) == (False, "no amount")
    assert len(seen) == 2 and seen[1]["messages"][-2] == {"role": "assistant", "content": "UNMET, no amount given"}


def test_two_replies_in_the_wrong_shape_are_no_verdict_with_the_reason(upstream: Any, tmp_path: Path) -> None:
    judge, seen = judge_on(upstream, lambda body: "I think it is MET.", tmp_path)
    verdict = judge(REQUEST)
    assert verdict.met is None and len(seen) == 2
    expected = "no verdict: the judge answered twice without the strict JSON format ('I think it is MET.')"
    assert verdict.reason == expected
    assert judge(REQUEST) == verdict and len(seen) == 2  # the model's answer, so cached like any other


def test_refused_response_formats_step_down_once_and_stay_down(upstream: Any, tmp_path: Path) -> None:
    judge, seen = judge_on(upstream, lambda body: MET, tmp_path, refuse=("json_schema", "json_object_schema"))
    assert judge(REQUEST).met is True
    assert [format_kind(body) for body in seen] == ["json_schema", "json_object_schema", "json_object"]
    judge(JudgeRequest("Another criterion.", REQUEST.transcript))
    assert format_kind(seen[-1]) == "json_object" and len(seen) == 4


def test_samples_ask_with_successive_seeds_and_the_majority_decides(upstream: Any, tmp_path: Path) -> None:
    judge, seen = judge_on(upstream, lambda body: UNMET if body["seed"] % 2 else MET, tmp_path, samples=3, seed=4)
    verdict = judge(REQUEST)
    assert [body["seed"] for body in seen] == [4, 5, 6] and {body["temperature"] for body in seen} == {0.7}
    assert (verdict.met, verdict.samples) == (True, (True, False, True))
    assert verdict.reason == "2/3 samples MET: states 12.50 EUR and A2"


def test_the_cache_answers_the_same_content_again_whatever_the_run(upstream: Any, tmp_path: Path) -> None:
    judge, seen = judge_on(upstream, lambda body: MET, tmp_path)
    first = judge(REQUEST)
    same_content = JudgeRequest(REQUEST.criterion, REQUEST.transcript, REQUEST.evidence, run_id="e2-000007")
    assert judge(same_content) == first and len(seen) == 1
    judge(JudgeRequest(REQUEST.criterion, REQUEST.transcript + "\nuser: thanks", REQUEST.evidence))
    assert len(seen) == 2  # other content: asked
    again = LLMJudge("judge-model", base_url=judge.base_url, cache=tmp_path / "judge.db")
    assert again(REQUEST) == first and again.asked == 0  # another judge (or process) on the same file
    three = LLMJudge("judge-model", base_url=judge.base_url, cache=tmp_path / "judge.db", samples=3)
    assert three(REQUEST).samples == (True, True, True) and three.asked == 3  # samples are part of the key
    assert JudgeCache(tmp_path / "judge.db").count() == 3


def test_an_unreachable_judge_is_no_verdict_and_is_asked_again_later(closed_port: int, tmp_path: Path) -> None:
    judge = LLMJudge("judge-model", base_url=f"http://127.0.0.1:{closed_port}/v1", cache=tmp_path / "judge.db")
    verdict = judge(REQUEST)
    assert verdict.met is None
    assert verdict.reason.startswith(f"no verdict: the judge judge-model at http://127.0.0.1:{closed_port}/v1 failed:")
    assert "ConnectError" in verdict.reason and judge.cache is not None and judge.cache.count() == 0


def test_a_server_error_is_no_verdict_not_a_format_step(upstream: Any, tmp_path: Path) -> None:
    def broken(body: dict[str, Any]) -> str:
        raise RuntimeError("model crashed")

    judge, seen = judge_on(upstream, broken, tmp_path)
    verdict = judge(REQUEST)
    assert verdict.met is None and "answered 500" in verdict.reason and len(seen) == 1


def test_the_environment_names_the_endpoint_like_the_agents(
    upstream: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    base = upstream(chat_server(lambda body: MET, seen))
    monkeypatch.setenv("HUDPROXY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the agent's endpoint
    monkeypatch.setenv("OPENAI_API_KEY", "sk-agent")
    monkeypatch.setenv("HUDPROXY_JUDGE_BASE_URL", f"{base}/v1")  # the judge's own wins
    judge = judge_from_environment("judge-model")
    assert judge(REQUEST).met is True and seen[0]["authorization"] == "Bearer sk-agent"
    assert judge.cache is not None and judge.cache.path == tmp_path / "judge.db"
    monkeypatch.setenv("HUDPROXY_JUDGE_API_KEY", "sk-judge")
    judge_from_environment("judge-model", cache=False)(JudgeRequest("Other.", "t"))
    assert seen[-1]["authorization"] == "Bearer sk-judge"


def test_no_key_for_openai_itself_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "HUDPROXY_JUDGE_BASE_URL", "HUDPROXY_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="--judge gpt-4o-mini needs an API key: set OPENAI_API_KEY"):
        judge_from_environment("gpt-4o-mini")
    with pytest.raises(ConfigError, match="--judge-samples must be at least 1"):
        LLMJudge("m", samples=0)
