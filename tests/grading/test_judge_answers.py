"""The judge's strict answer format, read defensively, and the majority over samples."""

from __future__ import annotations

import json

import pytest

from hudproxy.grading.judge_answers import MAX_TRANSCRIPT_CHARS, Answer, majority, messages, parse
from hudproxy.grading.judging import JudgeRequest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"verdict": "MET", "reason": "says 12.50 EUR and A2"}', (True, "says 12.50 EUR and A2")),
        ('  {"verdict": "UNMET", "reason": "no amount"}\n', (False, "no amount")),
        ('```json\n{"verdict": "met", "reason": "ok", "confidence": 0.9}\n```', (True, "ok")),
    ],
)
def test_the_strict_format_gives_a_verdict(text: str, expected: tuple[bool, str]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "MET: it states the amount",
        '{"verdict": "PARTIAL", "reason": "half"}',
        '{"verdict": "MET"}',
        '{"verdict": true, "reason": "x"}',
        '["MET", "x"]',
        'Sure! {"verdict": "MET", "reason": "x"}',
        "",
    ],
)
def test_anything_else_is_no_verdict(text: str) -> None:
    assert parse(text) is None


def test_a_reason_is_kept_short() -> None:
    parsed = parse(json.dumps({"verdict": "UNMET", "reason": "x" * 5000}))
    assert parsed is not None and len(parsed[1]) == 300


def answers(*verdicts: bool | None) -> list[Answer]:
    return [Answer(v, f"reason {n}", "raw") for n, v in enumerate(verdicts)]


def test_more_than_half_of_the_samples_decide() -> None:
    found = majority(answers(True, False, True))
    assert (found.met, found.samples) == (True, (True, False, True))
    assert found.reason == "2/3 samples MET: reason 0"
    assert majority(answers(False, None, False)).reason == "2/3 samples UNMET: reason 0"


def test_no_majority_is_no_verdict_with_the_tally() -> None:
    split = majority(answers(True, False))
    assert (split.met, split.reason) == (None, "no majority over 2 samples (1 MET, 1 UNMET)")
    silent = majority(answers(True, None, None))
    assert (silent.met, silent.reason) == (None, "no majority over 3 samples (1 MET, 0 UNMET, 2 no answer)")


def test_one_sample_is_its_own_verdict() -> None:
    (only,) = answers(None)
    found = majority([only])
    assert (found.met, found.reason, found.samples) == (None, "reason 0", (None,))


def test_the_question_carries_criterion_transcript_and_evidence_and_keeps_a_long_transcripts_end() -> None:
    transcript = "user: refund A2\n" + "x" * MAX_TRANSCRIPT_CHARS + "\nassistant: refunded 12.50 EUR on A2"
    system, user = messages(JudgeRequest("States the amount.", transcript, ("POST /refunds 201 (seq 2)",)))
    assert system["role"] == "system" and '"verdict"' in system["content"]
    assert user["content"].startswith("Criterion: States the amount.")
    assert "assistant: refunded 12.50 EUR on A2" in user["content"] and "user: refund A2" not in user["content"]
    assert "- POST /refunds 201 (seq 2)" in user["content"]
