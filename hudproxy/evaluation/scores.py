"""Reading rubric scores back: per scenario the mean of each criterion (what `hudproxy report` and `hudproxy grade`
print), and one run's verdicts with their evidence (`hudproxy report --run ID`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from hudproxy.errors import ConfigError
from hudproxy.evaluation.regrade import Regraded, open_stored


@dataclass
class CriterionStats:
    kind: str
    weight: float
    scored: int = 0  # runs where it applied
    total: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # met/unmet/n/a (gates: passed/violated)

    @property
    def mean(self) -> float | None:
        return self.total / self.scored if self.scored else None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "weight": self.weight, "mean": self.mean, **self.counts}


@dataclass
class ScenarioScores:
    runs: int = 0
    reward_total: float = 0.0
    criteria: dict[str, CriterionStats] = field(default_factory=dict)

    @property
    def mean_reward(self) -> float | None:
        return self.reward_total / self.runs if self.runs else None

    def add(self, name: str, kind: str, status: str, value: float | None, weight: float) -> None:
        stats = self.criteria.setdefault(name, CriterionStats(kind, weight))
        stats.counts[status] = stats.counts.get(status, 0) + 1
        if value is not None and status != "n/a":
            stats.scored += 1
            stats.total += value

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "mean_reward": self.mean_reward,
                "criteria": {name: s.to_dict() for name, s in self.criteria.items()}}  # fmt: skip


def stored_scores(db: str | Path, eval_id: str | None = None) -> dict[str, dict[str, ScenarioScores]]:
    """{eval id: {scenario: ScenarioScores}} from the `scores` table (graded runs only)."""
    conn = open_stored(db)
    try:
        if "scores" not in {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}:
            return {}
        where, params = ("where r.eval_id = ?", [eval_id]) if eval_id else ("", [])
        out: dict[str, dict[str, ScenarioScores]] = {}
        runs = conn.execute("select r.eval_id, r.scenario, r.reward from runs r left join evals e on e.id = r.eval_id "
                            f"{where} order by e.started, r.id", params)  # fmt: skip
        for r in runs:
            if r[0] is not None:
                scenario = out.setdefault(r[0], {}).setdefault(r[1], ScenarioScores())
                scenario.runs += 1
                scenario.reward_total += r[2] or 0.0
        rows = conn.execute(
            "select r.eval_id, r.scenario, s.criterion, s.kind, s.status, s.value, s.weight from scores s "
            f"join runs r on r.id = s.run_id {where} order by s.id", params
        )  # fmt: skip
        for eval_of, scenario, name, kind, status, value, weight in rows:
            out[eval_of][scenario].add(name, kind, status, value, weight)
        if eval_id and eval_id not in out:
            raise ConfigError(f"{db}: no eval {eval_id!r} (see `hudproxy report {db}`)")
        return out
    finally:
        conn.close()


def regraded_scores(regraded: Iterable[Regraded]) -> dict[str, ScenarioScores]:
    """{scenario: ScenarioScores} of a re-grade."""
    out: dict[str, ScenarioScores] = {}
    for run in regraded:
        scenario = out.setdefault(run.scenario, ScenarioScores())
        scenario.runs += 1
        scenario.reward_total += run.grade.reward
        for row in run.grade.rows():
            scenario.add(row["criterion"], row["kind"], row["status"], row["value"], row["weight"])
    return out


def run_report(db: str | Path, run_id: str) -> dict[str, Any]:
    """One run: what was asked, its reward, and each gate's and criterion's verdict with evidence."""
    conn = open_stored(db)
    try:
        run = conn.execute("select id, eval_id, scenario, args, answer, reward, error from runs where id = ?",
                           (run_id,)).fetchone()  # fmt: skip
        if run is None:
            near = [r[0] for r in conn.execute("select id from runs where id like ? limit 3", (f"%{run_id}%",))]
            hint = f"; did you mean {', '.join(near)}?" if near else f"; list them with `hudproxy report {db}`"
            raise ConfigError(f"{db}: no run {run_id!r}{hint}")
        has_scores = "scores" in {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        scores = conn.execute("select criterion, kind, status, value, weight, evidence from scores "
                              "where run_id = ? order by id", (run_id,)).fetchall() if has_scores else []  # fmt: skip
    finally:
        conn.close()
    return {"run": run["id"], "eval": run["eval_id"], "scenario": run["scenario"], "args": json.loads(run["args"]),
            "answer": run["answer"], "reward": run["reward"], "error": run["error"],
            "scores": [{**dict(s), "evidence": json.loads(s["evidence"] or "{}")} for s in scores]}  # fmt: skip


def scores_table(title: str, scenarios: dict[str, ScenarioScores], stored: dict[str, float] | None = None) -> Table:
    """Per scenario and criterion: kind, weight, mean over the runs it applied to, met / unmet / n/a counts."""
    table = Table(title=title, title_justify="left")
    for column in ("scenario", "criterion", "kind", "weight", "mean", "met", "unmet", "n/a"):
        table.add_column(column, justify="left" if column in ("scenario", "criterion", "kind") else "right")
    for name, scenario in sorted(scenarios.items()):
        reward = f"{scenario.mean_reward:.3f}" if scenario.mean_reward is not None else "-"
        if stored is not None and stored.get(name) is not None:
            reward += f" (stored {stored[name]:.3f})"
        table.add_row(name, f"reward ({scenario.runs} runs)", "", "", reward, "", "", "", style="bold")
        for criterion, stats in scenario.criteria.items():
            gate = stats.kind == "gate"
            mean = f"{stats.mean:.3f}" if stats.mean is not None else "-"
            met, unmet = ("passed", "violated") if gate else ("met", "unmet")
            table.add_row("", criterion, stats.kind, "" if gate else f"{stats.weight:g}", mean,
                          str(stats.counts.get(met, 0)), str(stats.counts.get(unmet, 0)),
                          "" if gate else str(stats.counts.get("n/a", 0)))  # fmt: skip
    return table


def run_table(report: dict[str, Any]) -> Table:
    args = json.dumps(report["args"], sort_keys=True)
    table = Table(title=f"run {report['run']}: {report['scenario']} {args}, reward {report['reward']:.3f}",
                  title_justify="left")  # fmt: skip
    for column in ("rule", "kind", "status", "value", "weight", "evidence"):
        table.add_column(column, justify="right" if column in ("value", "weight") else "left")
    for s in report["scores"]:
        value = "-" if s["value"] is None else f"{s['value']:.2f}"
        weight = "" if s["kind"] == "gate" else f"{s['weight']:g}"
        table.add_row(s["criterion"], s["kind"], s["status"], value, weight, evidence_text(s["evidence"]))
    caption = [f"answer: {report['answer']!r}"] if report["answer"] is not None else []
    if report["error"]:
        caption.append(f"error: {report['error'].strip().splitlines()[-1]}")
    if not report["scores"]:
        caption.append("no rubric graded this run (hudproxy grade --rubric FILE scores it)")
    table.caption = "; ".join(caption)
    table.caption_justify = "left"
    return table


def evidence_text(evidence: dict[str, Any]) -> str:
    """`calls #2 #5; paths /orders/A1; <reason>`: the evidence as one cell."""
    parts = []
    if evidence.get("calls"):
        more = f" (+{evidence['more_calls']})" if evidence.get("more_calls") else ""
        parts.append("calls " + " ".join(f"#{seq}" for seq in evidence["calls"]) + more)
    if evidence.get("paths"):
        parts.append("paths " + ", ".join(evidence["paths"]))
    for key in ("read", "sql", "service"):
        if evidence.get(key):
            parts.append(f"{key} {evidence[key]}")
    if evidence.get("reason"):
        parts.append(str(evidence["reason"]))
    return "; ".join(parts)
