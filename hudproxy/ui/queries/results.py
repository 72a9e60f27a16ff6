"""Read-only queries over an eval's results database (the layout `hudproxy.evaluation.store` writes: evals,
runs, calls, transcripts; and `scores`, the rubric's per-criterion rows, where a grader wrote them).

Every list is a filtered, sorted LIMIT/OFFSET query, so 10,000 runs cost a page. The UI reads the file without
importing the eval runner (which would pull the whole replay stack into the inspector).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.journal.query import Call, CallList
from hudproxy.ui.queries.paging import OffsetPaging

SORTS = {"idx": "idx", "scenario": "scenario", "reward": "reward", "duration": "duration_ms", "started": "started",
         "run": "id"}  # fmt: skip
PASS = 1.0  # a run passes when its reward reaches this (pass^k counts passing trials)


@contextmanager
def results_db(path: Path) -> Iterator[sqlite3.Connection]:
    """The file opened read-only (a page never writes), rows as dicts."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.OperationalError as exc:
        raise ConfigError(f"--results {path}: cannot open it ({exc}).") from None
    db.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
        if "runs" not in tables:
            raise ConfigError(f"--results {path}: not a hudproxy results database (no runs table).")
        yield db
    finally:
        db.close()


def has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("select 1 from sqlite_master where type = 'table' and name = ?", [name]).fetchone() is not None


def evals(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("select * from evals order by started desc")]


@dataclass(frozen=True)
class RunFilter:
    """The runs table's filters and order, as the query string carries them."""

    eval_id: str = ""
    scenario: str = ""
    min_reward: float | None = None
    max_reward: float | None = None
    outcome: str = ""  # "", "pass", "fail", "error"
    sort: str = "idx"
    descending: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if self.eval_id:
            clauses.append("eval_id = ?")
            args.append(self.eval_id)
        if self.scenario:
            clauses.append("scenario glob ?")
            args.append(self.scenario)
        if self.min_reward is not None:
            clauses.append("reward >= ?")
            args.append(self.min_reward)
        if self.max_reward is not None:
            clauses.append("reward <= ?")
            args.append(self.max_reward)
        if self.outcome == "pass":
            clauses.append(f"reward >= {PASS}")
        elif self.outcome == "fail":
            clauses.append(f"(reward < {PASS} or reward is null)")
        elif self.outcome == "error":
            clauses.append("error is not null and error != ''")
        return " and ".join(clauses) or "1", args

    def order(self) -> str:
        """A known column, or `sub:NAME` for one sub-score (json_extract); never text from the URL as SQL."""
        direction = "desc" if self.descending else "asc"
        if self.sort.startswith("sub:"):
            return f"json_extract(subscores, ?) {direction}, id"
        return f"{SORTS.get(self.sort, 'idx')} {direction}, id"

    def order_args(self) -> list[Any]:
        return [f"$.{json.dumps(self.sort[4:])}"] if self.sort.startswith("sub:") else []


@dataclass
class RunsPage(OffsetPaging):
    rows: list[dict[str, Any]]
    matching: int
    offset: int
    limit: int
    subscore_names: list[str] = field(default_factory=list)


RUN_LIST_COLUMNS = "id, eval_id, idx, scenario, args, repeat, agent, reward, subscores, error, started, duration_ms"


def runs_page(db: sqlite3.Connection, chosen: RunFilter, offset: int = 0, limit: int = 100) -> RunsPage:
    where, args = chosen.where()
    matching = db.execute(f"select count(*) from runs where {where}", args).fetchone()[0]
    sql = f"select {RUN_LIST_COLUMNS} from runs where {where} order by {chosen.order()} limit ? offset ?"
    rows = [_run_row(r) for r in db.execute(sql, [*args, *chosen.order_args(), limit, offset])]
    names = sorted({name for row in rows for name in row["subscores"]})
    return RunsPage(rows, matching, offset, limit, names)


def _run_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["subscores"] = _json(data.get("subscores"), {})
    data["args_data"] = _json(data.get("args"), {})
    if "notes" in data:
        data["notes"] = _json(data.get("notes"), [])
    return data


def _json(text: Any, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def run(db: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    row = db.execute("select * from runs where id = ?", [run_id]).fetchone()
    return None if row is None else _run_row(row)


def run_calls(db: sqlite3.Connection, run_id: str) -> CallList:
    return CallList(Call.from_row(dict(r)) for r in db.execute("select * from calls where run_id = ? order by seq, id",
                                                                [run_id]))  # fmt: skip


def transcript(db: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    row = db.execute("select messages from transcripts where run_id = ?", [run_id]).fetchone()
    messages = _json(row["messages"] if row else None, [])
    return messages if isinstance(messages, list) else []


def rubric(db: sqlite3.Connection, run_id: str) -> list[dict[str, Any]] | None:
    """The run's rubric rows (kind gate/criterion, criterion, status met/unmet/n/a, value, weight, evidence), or
    None when the results database has no `scores` table (written before rubrics). Evidence is the grader's
    JSON: `calls` (journal seqs, linked to the run's calls), `paths`, `judge`, `reason`."""
    if not has_table(db, "scores"):
        return None
    rows = [dict(r) for r in db.execute("select * from scores where run_id = ? order by id", [run_id])]
    for row in rows:
        evidence = _json(row.get("evidence"), {})
        row["evidence_data"] = evidence if isinstance(evidence, dict) else {"reason": str(evidence)}
    return rows


@dataclass(frozen=True)
class TaskPassK:
    scenario: str
    args: str
    trials: int
    passed: int
    mean_reward: float

    def pass_k(self, k: int) -> float:
        """The chance that k trials drawn from these all pass: C(passed, k) / C(trials, k) (tau-bench's pass^k)."""
        return math.comb(self.passed, k) / math.comb(self.trials, k) if k <= self.trials else math.nan


def pass_k_table(db: sqlite3.Connection, eval_id: str) -> list[TaskPassK]:
    """Per task (scenario and arguments) of an eval: its trials and passes; empty when no task ran twice."""
    sql = (f"select scenario, args, count(*), sum(coalesce(reward, 0) >= {PASS}), avg(coalesce(reward, 0)) "
           "from runs where eval_id = ? group by scenario, args order by scenario, args")  # fmt: skip
    tasks = [TaskPassK(*row) for row in db.execute(sql, [eval_id])]
    return tasks if any(t.trials > 1 for t in tasks) else []
