"""Scoring a run against a rubric: pure, from the run's data alone (journal rows, answer, transcript, arguments,
end state), so grading inside an eval and re-grading stored runs (`hudproxy grade`) are the same code.

    grade = score(rubric, RunData(calls, answer="refunded", args={"order_id": "A1"}, end_state=...))
    grade.reward, grade.gates, grade.criteria   # each criterion met / unmet / n/a, with evidence

The reward is 0 when any gate is violated; else the weighted mean of the applicable criteria (a rubric of gates
only gives 1). A `judge:` criterion without a judge is not applicable ("no judge configured").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hudproxy.grading.endstate import EndState, changed_paths, db_key, items_matching, read_key
from hudproxy.grading.judging import Judge, JudgeRequest
from hudproxy.grading.model import CallMatch, Criterion, Gate, Rubric
from hudproxy.grading.report import CriterionResult, GateResult, Grade
from hudproxy.grading.rows import Row, expression, matches, rows_of
from hudproxy.journal.assertions import contains
from hudproxy.journal.query import Call

NO_JUDGE = "no judge configured"
SHOWN_SEQS = 20  # evidence lists at most this many journal rows (and says how many more)


@dataclass
class RunData:
    """Everything a rubric reads about one run."""

    calls: Sequence[Call]
    answer: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)
    end_state: EndState = field(default_factory=dict)
    run_id: str = ""


_rendered: dict[tuple[int, str], Rubric] = {}


def rendered(rubric: Rubric, args: dict[str, Any]) -> Rubric:
    """`rubric.render(args)`, memoised: an eval renders the same rubric with the same arguments many times."""
    if not rubric.placeholders():
        return rubric
    key = (id(rubric), json.dumps(args, sort_keys=True, default=str))
    found = _rendered.get(key)
    if found is None:
        if len(_rendered) > 10_000:
            _rendered.clear()
        found = _rendered[key] = rubric.render(args)
    return found


def score(rubric: Rubric, run: RunData, judge: Judge | None = None) -> Grade:
    rubric = rendered(rubric, run.args)
    scorer = _Scorer(run, rows_of(run.calls), judge)
    gates = [scorer.gate(g) for g in rubric.gates]
    criteria = [scorer.criterion(c) for c in rubric.criteria]
    return Grade(reward(gates, criteria, bool(rubric.criteria)), gates, criteria)


def reward(gates: list[GateResult], criteria: list[CriterionResult], has_criteria: bool) -> float:
    if any(not g.passed for g in gates):
        return 0.0
    if not has_criteria:
        return 1.0
    weighted = [(c.value, c.weight) for c in criteria if c.value is not None and c.weight > 0]
    total = sum(w for _, w in weighted)
    return round(sum(v * w for v, w in weighted) / total, 6) if total else 0.0


def seqs(rows: Sequence[Row]) -> dict[str, Any]:
    found = [r.seq for r in rows]
    shown = {"calls": found[:SHOWN_SEQS]}
    return shown | ({"more_calls": len(found) - SHOWN_SEQS} if len(found) > SHOWN_SEQS else {})


class _Scorer:
    def __init__(self, run: RunData, rows: list[Row], judge: Judge | None) -> None:
        self.run, self.rows, self.judge = run, rows, judge

    def matching(self, spec: CallMatch) -> list[Row]:
        return [r for r in self.rows if matches(spec, r, self.run.args)]

    # -- gates ---------------------------------------------------------------------------------------------
    def gate(self, gate: Gate) -> GateResult:
        rule = gate.describe()
        if gate.never is not None:
            found = self.matching(gate.never)
            reason = f"{len(found)} forbidden call(s): " + "; ".join(r.describe() for r in found[:3]) if found else ""
            return GateResult(rule, not found, reason, seqs(found))
        if gate.called is not None:
            found = self.matching(gate.called)
            return GateResult(rule, bool(found), "" if found else "no such call was made", seqs(found))
        if gate.max_calls is not None:
            over = len(self.rows) > gate.max_calls
            reason = f"{len(self.rows)} calls, more than {gate.max_calls}" if over else ""
            return GateResult(rule, not over, reason, {"count": len(self.rows)})
        if isinstance(gate.acted, CallMatch):
            found = self.matching(gate.acted)
        elif gate.acted:
            found = [r for r in self.rows if r.is_write]
        else:
            return GateResult(rule, True)
        reason = "" if found else f"the agent changed nothing ({len(self.rows)} call(s), none a write)"
        return GateResult(rule, bool(found), reason, seqs(found))

    # -- criteria ------------------------------------------------------------------------------------------
    def criterion(self, criterion: Criterion) -> CriterionResult:
        kind = criterion.kind
        value, reason, evidence = getattr(self, f"_{kind}")(criterion)
        return CriterionResult(criterion.name, kind, criterion.weight, value, reason, evidence)

    def _call(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.call is not None
        found = self.matching(c.call)
        low, high = c.call.bounds()
        met = len(found) >= low and (high is None or len(found) <= high)
        wanted = f"exactly {low}" if low == high else f"at least {low}" + (f", at most {high}" if high else "")
        reason = f"{len(found)} matching call(s), wanted {wanted}: {c.call.describe()}"
        return float(met), reason, seqs(found)

    def _order(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.order is not None
        chain: list[int] = []
        after = 0
        for step in c.order:
            nxt = next((r.seq for r in self.rows if r.seq > after and matches(step, r, self.run.args)), None)
            if nxt is None:
                break
            chain.append(nxt)
            after = nxt
        done = len(chain)
        reason = "in order" if done == len(c.order) else f"step {done + 1} ({c.order[done].describe()}) never came"
        if done < len(c.order) and self.matching(c.order[done]):
            reason += " after the earlier steps"
        return done / len(c.order), reason, {"calls": chain}

    def _state(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        resources = self.run.end_state.get("resources")
        if not resources:
            return None, "the run has no resource state (an env.replay with generalise=True keeps one)", {}
        parts: list[bool] = []
        problems: list[str] = []
        paths: list[str] = []
        for pattern, expected in (c.state or {}).items():
            found = items_matching(resources, pattern)
            ok = _state_holds(found, expected)
            parts.append(ok)
            paths.extend(found or [pattern])
            if not ok:
                problems.append(f"{pattern}: wanted {expected!r}, found {_short(found) if found else 'nothing'}")
        evidence: dict[str, Any] = {"paths": paths}
        if c.nothing_else_changed:
            named = list(c.state or {})
            extra = [f"{how} {path}" for how, path in changed_paths(resources) if not _named(path, named)]
            parts.append(not extra)
            evidence["collateral"] = extra
            if extra:
                problems.append("also changed: " + ", ".join(extra[:5]) + (" …" if len(extra) > 5 else ""))
        return sum(parts) / len(parts), "; ".join(problems) or "as expected", evidence

    def _read(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.read is not None
        stored = self.run.end_state.get("reads", {}).get(read_key(c.read.tool, dict(c.read.arguments)))
        what = f"{c.read.tool}({json.dumps(c.read.arguments, sort_keys=True)})"
        if stored is None:
            return None, f"{what} was not read at the end of this run (re-run it to read it)", {}
        if "error" in stored:
            return 0.0, f"{what} failed: {stored['error']}", {"read": what}
        value = stored.get("value")
        ok = (c.read.expect is None or contains(value, c.read.expect)) and _where(c.read.where, {"value": value},
                                                                                  self.run.args)  # fmt: skip
        return float(ok), f"{what} answered {_short(_focus(value, c.read.expect))}", {"read": what}

    def _db(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.db is not None
        stored = self.run.end_state.get("db", {}).get(db_key(c.db.database, c.db.sql))
        if stored is None:
            return None, f"the query was not run at the end of this run ({c.db.sql})", {}
        if "error" in stored:
            return 0.0, f"the query failed: {stored['error']}", {"sql": c.db.sql}
        rows = stored.get("rows", [])
        ok = (c.db.expect is None or contains(rows, c.db.expect)) and _where(c.db.where, {"rows": rows},
                                                                             self.run.args)  # fmt: skip
        return float(ok), f"{len(rows)} row(s): {_short(rows)}", {"sql": c.db.sql}

    def _service(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.service is not None
        state = self.run.end_state.get("services", {}).get(c.service.name)
        if state is None:
            return None, f"no state of mock service {c.service.name} was kept for this run", {}
        ok = (c.service.expect is None or contains(state, c.service.expect)) and _where(c.service.where, state,
                                                                                        self.run.args)  # fmt: skip
        return float(ok), f"{c.service.name}: {_short(state)}", {"service": c.service.name}

    def _answer(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.answer is not None
        answer = self.run.answer or ""
        found = re.search(c.answer.regex, answer)
        reason = f"found {found.group(0)!r}" if found else f"no match for /{c.answer.regex}/ in {_short(answer)}"
        return float(found is not None), reason, {"answer": answer[:200]}

    def _judge(self, c: Criterion) -> tuple[float | None, str, dict[str, Any]]:
        assert c.judge is not None
        if self.judge is None:
            return None, NO_JUDGE, {}
        lines = tuple(r.describe() for r in self.rows)
        request = JudgeRequest(c.judge, transcript_text(self.run.transcript, self.run.answer), lines, self.run.run_id)
        verdict = self.judge(request)
        value = None if verdict.met is None else float(verdict.met)
        evidence: dict[str, Any] = {"judge": verdict.reason}
        if verdict.samples:
            evidence["samples"] = list(verdict.samples)
        return value, verdict.reason, evidence


def _where(source: str | None, names: dict[str, Any], args: dict[str, Any]) -> bool:
    return source is None or expression(source).evaluate({**names, "args": args})


def _state_holds(found: dict[str, Any], expected: Any) -> bool:
    """An exact path: its item contains `expected` (null: the item is gone). A glob: some item does."""
    if expected is None:
        return all(item is None for item in found.values())
    return any(item is not None and contains(item, expected) for item in found.values())


def _named(path: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(path == p or fnmatchcase(path, p) for p in patterns)


def _focus(value: Any, expected: Any) -> Any:
    """The part of `value` an expectation looks at (the expected keys of a dict), for a reason worth reading."""
    if isinstance(value, dict) and isinstance(expected, dict):
        return {k: value.get(k) for k in expected}
    return value


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def transcript_text(messages: list[dict[str, Any]], answer: str | None = None) -> str:
    """The transcript as lines a judge reads: `user: ...`, `assistant called tool(args)`, `tool: ...`."""
    lines = []
    for message in messages:
        role = message.get("role", "?")
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            lines.append(f"{role} called {function.get('name')}({function.get('arguments', '')})")
        content = message.get("content")
        if content:
            lines.append(f"{role}: {content if isinstance(content, str) else json.dumps(content)}")
    if answer and not any(m.get("role") == "assistant" and m.get("content") == answer for m in messages):
        lines.append(f"final answer: {answer}")
    return "\n".join(lines)
