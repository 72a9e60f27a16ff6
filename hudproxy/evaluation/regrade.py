"""Re-scoring stored runs with a rubric, without running anything: `hudproxy grade results.db --rubric FILE`.

    regraded = grade_runs("results.db", "rubrics/refund.yaml")               # or a Rubric; judge=... for judges
    for run in regraded:
        run.run_id, run.stored_reward, run.grade.reward

A run is re-scored from what the eval stored: its journal rows (`calls`), its answer, its transcript, the arguments
its rubric was filled from and the end state that rubric read (`end_states`). An end-state criterion the stored
run cannot answer (a query nobody ran then) is not applicable, with that reason.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.grading import Grade, Judge, Rubric, RunData, load_rubric, score
from hudproxy.journal.query import Call

CALL_FIELDS = [f.name for f in fields(Call)]  # the `calls` table's columns (as hudproxy.evaluation.execute)
MATCHED, QUERY, DURATION, HEADERS, DIAGNOSIS, EVIDENCE = (
    CALL_FIELDS.index(name) for name in ("matched", "query", "duration_ms", "request_headers", "diagnosis", "evidence")
)
CHUNK = 2000  # runs read at a time: 10,000 stored runs never sit in memory at once with all their calls


@dataclass
class Regraded:
    run_id: str
    eval_id: str
    scenario: str
    stored_reward: float | None
    grade: Grade

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "eval": self.eval_id, "scenario": self.scenario,
                "stored_reward": self.stored_reward, **self.grade.to_dict()}  # fmt: skip


def open_stored(path: str | Path) -> sqlite3.Connection:
    """A results database for reading; anything else is one clear ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such results database (make one with `hudproxy eval ... --out {path}`)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path}: not a SQLite database ({exc})") from None
    if not {"runs", "calls", "transcripts"} <= tables:
        conn.close()
        raise ConfigError(f"{path}: not a hudproxy results database (no runs table); give the file `--out` wrote")
    conn.row_factory = sqlite3.Row
    return conn


def grade_runs(
    db: str | Path, rubric: Rubric | str | Path, judge: Judge | None = None, *, eval_id: str | None = None,
    scenario: str | None = None, save: bool = False,
) -> list[Regraded]:  # fmt: skip
    """Every stored run (of `eval_id`, of `scenario`) scored by `rubric`; `save` writes the new scores and rewards
    into the database (the `scores` rows, `runs.reward` and `runs.subscores`)."""
    chosen = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    conn = open_stored(db)
    collecting = gc.isenabled()
    gc.disable()  # thousands of small objects, no cycles: generational collections would only re-walk them
    try:
        regraded = list(_grade_all(conn, chosen, judge, eval_id, scenario))
    finally:
        if collecting:
            gc.enable()
        conn.close()
    if save:
        from hudproxy.evaluation.store import replace_scores

        replace_scores(db, [(r.run_id, r.grade) for r in regraded])
    return regraded


def _grade_all(
    conn: sqlite3.Connection, rubric: Rubric, judge: Judge | None, eval_id: str | None, scenario: str | None
) -> Iterator[Regraded]:
    clauses, params = [], []
    for column, value in (("eval_id", eval_id), ("scenario", scenario)):
        if value is not None:
            clauses.append(f"r.{column} = ?")
            params.append(value)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    has_states = "end_states" in {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    state_columns = "e.args as graded_args, e.state as end_state" if has_states else "null, null"
    join = "left join end_states e on e.run_id = r.id" if has_states else ""
    runs = conn.execute(
        f"select r.id, r.eval_id, r.scenario, r.args, r.answer, r.reward, {state_columns} "
        f"from runs r {join} {where} order by r.id", params
    ).fetchall()  # fmt: skip
    if not runs and (eval_id or scenario):
        which = (f" of eval {eval_id}" if eval_id else "") + (f" of scenario {scenario!r}" if scenario else "")
        raise ConfigError(f"no stored runs{which} in this results database")
    wants_transcript = any(c.judge is not None for c in rubric.criteria)
    for start in range(0, len(runs), CHUNK):
        chunk = runs[start : start + CHUNK]
        ids = [row[0] for row in chunk]
        calls = _calls(conn, ids)
        transcripts = _transcripts(conn, ids) if wants_transcript else {}
        for run_id, eval_of, name, args, answer, reward, graded_args, end_state in chunk:
            arguments = json.loads(graded_args or args or "{}")
            data = RunData(calls.get(run_id, []), answer, transcripts.get(run_id, []), arguments,
                           json.loads(end_state) if end_state else {}, run_id)  # fmt: skip
            try:
                grade = score(rubric, data, judge)
            except ValueError as exc:  # a placeholder the run's arguments do not have
                raise ConfigError(f"run {run_id} ({name}): {rubric.source or 'rubric'}: {exc}") from None
            yield Regraded(run_id, eval_of, name, reward, grade)


def _calls(conn: sqlite3.Connection, run_ids: list[str]) -> dict[str, list[Call]]:
    found: dict[str, list[Call]] = {}
    marks = ",".join("?" * len(run_ids))
    columns = ", ".join(f"[{c}]" for c in CALL_FIELDS)
    cursor = conn.execute(f"select run_id, {columns} from calls where run_id in ({marks}) order by run_id, seq",
                          run_ids)  # fmt: skip
    cursor.row_factory = None  # type: ignore[assignment]  # plain tuples: the fastest read
    for row in cursor:
        found.setdefault(row[0], []).append(_call(row[1:]))
    return found


def _call(values: tuple[Any, ...]) -> Call:
    """A stored row as a journal Call (the columns are Call's fields, in order); what grading never reads stays
    unparsed (a diagnosis, a rule's evidence)."""
    row = list(values)
    row[MATCHED] = bool(row[MATCHED])
    row[QUERY] = row[QUERY] or ""
    row[DURATION] = row[DURATION] or 0.0
    headers = row[HEADERS]
    row[HEADERS] = [tuple(h) for h in json.loads(headers)] if headers and headers != "[]" else []
    row[DIAGNOSIS] = []
    row[EVIDENCE] = []
    return Call(*row)


def _transcripts(conn: sqlite3.Connection, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    marks = ",".join("?" * len(run_ids))
    rows = conn.execute(f"select run_id, messages from transcripts where run_id in ({marks})", run_ids)
    return {run_id: json.loads(messages or "[]") for run_id, messages in rows}
