"""Grading as data: rubrics (gates and weighted criteria) scored over a run's journal rows, its end state and
its transcript, with evidence for every verdict. The last step of the flow: traffic -> ... -> journal -> grade.

    rubric = load_rubric("rubrics/refund.yaml")            # or Rubric(gates=[...], criteria=[...]) in Python
    grade = score(rubric, RunData(calls, answer=..., args={"order_id": "A1"}, end_state=...))
    grade.reward, grade.criteria[0].status, grade.criteria[0].evidence
"""

from hudproxy.grading.endstate import EndState, Needs, needs
from hudproxy.grading.judging import Judge, JudgeRequest, JudgeVerdict
from hudproxy.grading.loader import RubricError, load_rubric, parse_rubric
from hudproxy.grading.model import (
    AnswerCheck,
    CallCheck,
    CallMatch,
    Criterion,
    DbCheck,
    Gate,
    ReadCheck,
    Rubric,
    ServiceCheck,
)
from hudproxy.grading.report import CriterionResult, GateResult, Grade
from hudproxy.grading.score import NO_JUDGE, RunData, score, transcript_text

__all__ = [
    "NO_JUDGE",
    "AnswerCheck",
    "CallCheck",
    "CallMatch",
    "Criterion",
    "CriterionResult",
    "DbCheck",
    "EndState",
    "Gate",
    "GateResult",
    "Grade",
    "Judge",
    "JudgeRequest",
    "JudgeVerdict",
    "Needs",
    "ReadCheck",
    "Rubric",
    "RubricError",
    "RunData",
    "ServiceCheck",
    "load_rubric",
    "needs",
    "parse_rubric",
    "score",
    "transcript_text",
]
