"""`hudproxy eval --judge MODEL`: the eval's runs find the judge (`current_judge()`), answers are cached across
evals, the results name the judge, and a judge without its endpoint's key is one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from chat_stub import chat_server

from hudproxy.cli import main
from hudproxy.evaluation import run_eval
from hudproxy.grading.active_judge import current_judge, judging_with
from hudproxy.grading.judging import JudgeRequest, JudgeVerdict

JUDGED = Path(__file__).parent / "envs" / "judged"
ARGS = ["eval", str(JUDGED), "-s", "tell-refund", "--arg", "amount=12.5", "--repeats", "3"]


def says_amount(body: dict[str, Any]) -> str:
    met = "12.50 EUR" in body["messages"][1]["content"]
    return json.dumps({"verdict": "MET" if met else "UNMET", "reason": "the amount is stated" if met else "none"})


def cli(*args: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    assert exited.value.code == 0


@pytest.fixture
def judge_server(upstream: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream(chat_server(says_amount, seen))}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return seen


def test_eval_judge_reaches_every_run_and_the_cache_spares_the_second_eval(
    judge_server: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.db"
    cli(*ARGS, "--judge", "judge-model", "--out", str(out))
    db = sqlite_utils.Database(out)
    runs = list(db["runs"].rows)
    assert [r["reward"] for r in runs] == [1.0] * 3 and {r["error"] for r in runs} == {None}
    assert {json.loads(r["notes"])[0] for r in runs} == {"the amount is stated"}
    assert next(iter(db["evals"].rows))["judge"] == "judge-model"
    asked = len(judge_server)
    assert asked == 1  # three concurrent trials, one question: the first asks, the others read its answer
    cli(*ARGS, "--judge", "judge-model", "--judge-samples", "1", "--out", str(tmp_path / "again.db"))
    assert len(judge_server) == asked  # free and the same on a re-run
    assert "pass^3" in capsys.readouterr().out


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_without_a_judge_the_runs_see_none_and_a_judge_object_is_used_as_given() -> None:
    asked: list[JudgeRequest] = []

    def person(request: JudgeRequest) -> JudgeVerdict:
        asked.append(request)
        return JudgeVerdict(True, "a person read it")

    without = await run_eval(JUDGED, {"scenario": "tell-refund", "args": {"amount": 3}}, "scripted")
    assert without.mean_reward == 0.0 and current_judge() is None
    judged = await run_eval(JUDGED, {"scenario": "tell-refund", "args": {"amount": 3}}, "scripted", judge=person)
    assert judged.mean_reward == 1.0 and asked[0].transcript == "assistant: Your refund of 3.00 EUR is on its way."
    with judging_with(person):
        assert current_judge() is person
    assert current_judge() is None


def test_a_judge_without_a_key_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "HUDPROXY_JUDGE_BASE_URL", "HUDPROXY_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exited:
        main([*ARGS, "--judge", "gpt-4o-mini"])
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "--judge gpt-4o-mini needs an API key: set OPENAI_API_KEY" in err


def test_a_rubric_judge_criterion_is_asked_of_the_eval_judge_and_regrading_reads_the_cache(
    judge_server: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`judge:` in a rubric file reaches `--judge MODEL` during the eval; `hudproxy grade --judge` re-scores the
    stored runs from the cache (the same question, the same run content), asking the model nothing more."""
    out = tmp_path / "results.db"
    cli("eval", str(JUDGED), "-s", "tell-refund-rubric", "--arg", "amount=12.5", "--judge", "judge-model",
        "--out", str(out))  # fmt: skip
    db = sqlite_utils.Database(out)
    (run,) = list(db["runs"].rows)
    scores = [s for s in db["scores"].rows if s["run_id"] == run["id"] and s["criterion"] == "states the amount"]
    assert run["reward"] == 1.0 and len(scores) == 1
    assert "the amount is stated" in scores[0]["evidence"]
    asked = len(judge_server)
    assert asked == 1

    capsys.readouterr()
    cli("grade", str(out), "--rubric", str(JUDGED / "told.yaml"), "--judge", "judge-model", "--json")
    (regraded,) = json.loads(capsys.readouterr().out)
    assert regraded["reward"] == 1.0, regraded
    assert len(judge_server) == asked


def test_the_judge_asking_the_agents_endpoint_is_recorded_in_the_llm_cassette_and_replayed_offline(
    judge_server: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    """`--llm-cassette` records the judge's calls beside the agent's: replayed with the endpoint gone and an empty
    judge cache, the same verdict comes back and the model is asked nothing."""
    cassette = tmp_path / "llm.yaml"
    args = ["eval", str(JUDGED), "-s", "tell-refund-rubric", "--arg", "amount=12.5", "--judge", "judge-model",
            "--llm-cassette", str(cassette)]  # fmt: skip
    monkeypatch.setenv("HUDPROXY_JUDGE_CACHE", str(tmp_path / "first-cache.db"))
    cli(*args, "--llm-mode", "record", "--out", str(tmp_path / "recorded.db"))
    asked = len(judge_server)
    assert asked == 1 and cassette.exists()

    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port}/v1")  # the endpoint is gone
    monkeypatch.setenv("HUDPROXY_JUDGE_CACHE", str(tmp_path / "second-cache.db"))  # and nothing is cached
    cli(*args, "--llm-mode", "replay", "--out", str(tmp_path / "replayed.db"))

    (recorded,) = list(sqlite_utils.Database(tmp_path / "recorded.db")["runs"].rows)
    (replayed,) = list(sqlite_utils.Database(tmp_path / "replayed.db")["runs"].rows)
    assert replayed["reward"] == recorded["reward"] == 1.0 and replayed["error"] is None
    assert len(judge_server) == asked
