"""What the LLM judge says and reads, as pure functions: the messages asked, the strict answer format and its
parsing, and the majority over samples. No HTTP here, so each rule is testable on its own.

The answer format is one JSON object, nothing else: `{"verdict": "MET" | "UNMET", "reason": "..."}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hudproxy.grading.judging import JudgeRequest, JudgeVerdict

PROMPT_VERSION = 1  # part of the cache key: a changed prompt never reuses an old answer
MAX_TRANSCRIPT_CHARS = 12_000  # the tail of a longer transcript is kept: the final answer is what criteria judge
MAX_REASON_CHARS = 300
VERDICTS = {"MET": True, "UNMET": False}

SYSTEM = (
    "You are a strict grader. You judge one criterion against the transcript of an AI agent's run and the "
    "evidence gathered from it. Judge only what the transcript and evidence show. Answer with exactly one JSON "
    'object and nothing else: {"verdict": "MET", "reason": "<one short sentence>"} when the criterion holds, '
    '{"verdict": "UNMET", "reason": "<one short sentence>"} when it does not.'
)
CORRECTION = (
    'That was not the required format. Answer again with only the JSON object {"verdict": "MET" or "UNMET", '
    '"reason": "<one short sentence>"}.'
)
# the answer's JSON Schema, for servers that constrain output to one (OpenAI's json_schema; llama.cpp's grammar)
SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["MET", "UNMET"]}, "reason": {"type": "string"}},
    "required": ["verdict", "reason"],
    "additionalProperties": False,
}
FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True)
class Answer:
    """One sample's outcome: `met` None when the model never answered in the strict format."""

    met: bool | None
    reason: str
    raw: str


def messages(request: JudgeRequest) -> list[dict[str, str]]:
    """The chat messages asking for one verdict."""
    transcript = request.transcript
    if len(transcript) > MAX_TRANSCRIPT_CHARS:
        transcript = "[… earlier messages cut …]\n" + transcript[-MAX_TRANSCRIPT_CHARS:]
    parts = [f"Criterion: {request.criterion}", "", "Transcript:", transcript or "(empty)"]
    if request.evidence:
        parts += ["", "Evidence:", *(f"- {line}" for line in request.evidence)]
    parts += ["", "Does the run meet the criterion? Answer with the JSON object only."]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


def parse(text: str) -> tuple[bool, str] | None:
    """(met, reason) from an answer in the strict format, else None. Forgiving only of what changes nothing:
    surrounding whitespace, a ```json fence, the verdict's letter case, extra keys."""
    body = text.strip()
    fenced = FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    verdict, reason = data.get("verdict"), data.get("reason")
    if not isinstance(verdict, str) or verdict.strip().upper() not in VERDICTS or not isinstance(reason, str):
        return None
    return VERDICTS[verdict.strip().upper()], reason.strip()[:MAX_REASON_CHARS]


def majority(answers: Sequence[Answer]) -> JudgeVerdict:
    """More than half of all samples agreeing decides; otherwise no verdict. A sample without a verdict counts
    against both sides, so two bad answers out of three never become a verdict."""
    samples = tuple(answer.met for answer in answers)
    if len(answers) == 1:
        return JudgeVerdict(answers[0].met, answers[0].reason, samples)
    met, unmet = samples.count(True), samples.count(False)
    silent = len(samples) - met - unmet
    tally = f"{met} MET, {unmet} UNMET" + (f", {silent} no answer" if silent else "")
    for side, count in ((True, met), (False, unmet)):
        if count * 2 > len(samples):
            reason = next(answer.reason for answer in answers if answer.met is side)
            return JudgeVerdict(side, f"{count}/{len(samples)} samples {'MET' if side else 'UNMET'}: {reason}", samples)
    return JudgeVerdict(None, f"no majority over {len(samples)} samples ({tally})", samples)
