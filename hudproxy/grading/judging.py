"""The seam between rubrics and whatever judges a `judge:` criterion (an LLM over an OpenAI-compatible API, or a
person's function in a test). Rubric scoring only knows this protocol, so the scoring code never talks HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class JudgeRequest:
    """What a judge sees: the criterion's text, the run's transcript (the agent's messages and final answer) and
    the evidence the rubric gathered (journal rows and state paths, rendered as short lines)."""

    criterion: str
    transcript: str
    evidence: tuple[str, ...] = ()
    run_id: str = ""


@dataclass(frozen=True)
class JudgeVerdict:
    """MET (`met=True`), UNMET (`met=False`) or no verdict (`met=None`: the judge failed or was not configured;
    the criterion is then "not applicable" with `reason`). `samples` holds each sample's answer when several were
    asked and the verdict is their majority."""

    met: bool | None
    reason: str
    samples: tuple[bool | None, ...] = field(default=())


class Judge(Protocol):
    def __call__(self, request: JudgeRequest) -> JudgeVerdict: ...
