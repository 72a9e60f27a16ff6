"""The results database (SQLite via sqlite-utils): the one module that knows its tables.

    evals        one row per eval: environment, agent, backend, seed, runs planned and finished, status
    runs         one row per run (`id` "<eval>-<index>"): scenario, args, agent, seed, reward, subscores, notes,
                 error (the traceback), started, duration_ms, and the replay `session` it used; `task` (the
                 task's place in the task list) and `repeat` (the trial, 0-based) group a task's trials
    tasks        one row per (eval, task) at the end: trials, passed, pass_at_1, pass_at_k, pass_hat_k (k = the
                 trials run), mean_reward, interval_95 (half-width), flips (1: the outcome changed between trials)
    calls        the run's journal rows (`run_id` → runs.id), the fields of `hudproxy.journal.Call`
    transcripts  the run's messages (`run_id` → runs.id), OpenAI-style JSON
    scores       a rubric's verdicts per run: one row per gate and criterion (kind, status, value, weight, evidence)
    end_states   per graded run: the rubric file and the end state it read (JSON), what `hudproxy grade` re-reads

One thread writes, in batches, each batch one transaction: the event loop running the eval never waits for the
disk, and a stopped eval (Ctrl-C) keeps exactly the runs that finished, each with its calls and transcript.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlite_utils

from hudproxy.errors import ConfigError
from hudproxy.evaluation.execute import CALL_FIELDS, RunRecord, dumps

SCHEMA_VERSION = 4  # 2: calls.parent; 3: calls.rule, calls.evidence (answers the --generalise model made);
# 4: runs.task, evals.pass_threshold, evals.judge, the tasks table (repeated trials), scores and end_states
# (rubrics), runs.faults and calls.fault (fault injection), runs.prompt_tokens/completion_tokens/cost (LLM agents)
EVALS = {"id": str, "env": str, "agent": str, "backend": str, "seed": int, "concurrency": int, "planned": int,
         "finished": int, "errors": int, "mean_reward": float, "status": str, "started": str, "ended": str,
         "pass_threshold": float, "judge": str}  # fmt: skip
RUNS = {"id": str, "eval_id": str, "idx": int, "scenario": str, "args": str, "repeat": int, "agent": str,
        "seed": int, "session": str, "prompt": str, "answer": str, "reward": float, "subscores": str, "notes": str,
        "error": str, "started": str, "duration_ms": float, "worker": str, "task": int, "faults": str,
        "prompt_tokens": int, "completion_tokens": int, "cost": float}  # fmt: skip  # tokens, USD: LLM agents
TASKS = {"eval_id": str, "task": int, "scenario": str, "args": str, "planned": int, "trials": int, "passed": int,
         "pass_threshold": float, "pass_at_1": float, "pass_at_k": float, "pass_hat_k": float,
         "mean_reward": float, "interval_95": float, "flips": int}  # fmt: skip
CALLS = {"id": int, "run_id": str, "session": str, "seq": int, "time": str, "kind": str, "method": str, "url": str,
         "path": str, "query": str, "status": int, "matched": int, "interaction": int, "duration_ms": float,
         "request_headers": str, "request_body": str, "response_body": str, "diagnosis": str,
         "parent": int, "rule": str, "evidence": str, "fault": str}  # fmt: skip
TRANSCRIPTS = {"run_id": str, "messages": str}
SCORES = {"id": int, "run_id": str, "criterion": str, "kind": str, "status": str, "value": float, "weight": float,
          "evidence": str}  # fmt: skip
END_STATES = {"run_id": str, "rubric": str, "args": str, "state": str}  # args: with the scenario's defaults
BATCH = 500


def open_results(path: str | Path) -> sqlite_utils.Database:
    """The results database at `path`, created or checked; a file that is not one is a ConfigError."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ConfigError(f"--out {path}: the folder {path.parent} does not exist")
    try:
        db = sqlite_utils.Database(path)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION or (version == 0 and db.table_names() and "runs" in db.table_names()):
            raise ConfigError(f"--out {path}: not a hudproxy results database (or a newer one); choose another file")
        create_schema(db)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"--out {path}: not a SQLite database ({exc}); choose another file") from None
    return db


def create_schema(db: sqlite_utils.Database) -> None:
    db.enable_wal()
    db["evals"].create(EVALS, pk="id", if_not_exists=True)
    db["runs"].create(RUNS, pk="id", foreign_keys=[("eval_id", "evals", "id")], if_not_exists=True)
    db["calls"].create(CALLS, pk="id", foreign_keys=[("run_id", "runs", "id")], if_not_exists=True)
    for column in ("parent", "rule", "evidence", "fault"):  # a results database of an older version
        if column not in db["calls"].columns_dict:
            db["calls"].add_column(column, CALLS[column])  # type: ignore[union-attr]
    for table, columns in (("evals", EVALS), ("runs", RUNS)):  # older databases: the columns added since
        for column in [name for name in columns if name not in db[table].columns_dict]:
            db[table].add_column(column, columns[column])  # type: ignore[union-attr]
    db["transcripts"].create(TRANSCRIPTS, pk="run_id", foreign_keys=[("run_id", "runs", "id")], if_not_exists=True)
    db["tasks"].create(TASKS, pk=("eval_id", "task"), foreign_keys=[("eval_id", "evals", "id")], if_not_exists=True)
    db["scores"].create(SCORES, pk="id", foreign_keys=[("run_id", "runs", "id")], if_not_exists=True)
    db["end_states"].create(END_STATES, pk="run_id", foreign_keys=[("run_id", "runs", "id")], if_not_exists=True)
    db["scores"].create_index(["run_id"], if_not_exists=True)
    db["runs"].create_index(["eval_id", "idx"], if_not_exists=True)
    db["calls"].create_index(["run_id", "seq"], if_not_exists=True)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _insert(table: str, columns: list[str]) -> str:
    return f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({', '.join('?' * len(columns))})"


RUN_COLUMNS = list(RUNS)
CALL_COLUMNS = ["run_id", *CALL_FIELDS]
INSERT_RUN, INSERT_CALL = _insert("runs", RUN_COLUMNS), _insert("calls", CALL_COLUMNS)
INSERT_TRANSCRIPT = _insert("transcripts", ["run_id", "messages"])
SCORE_COLUMNS = [c for c in SCORES if c != "id"]
INSERT_SCORE, INSERT_END_STATE = _insert("scores", SCORE_COLUMNS), _insert("end_states", list(END_STATES))


class ResultsWriter:
    """Writes RunRecords from a queue on its own thread; `close(status)` drains it and records the outcome."""

    def __init__(self, path: str | Path, eval_row: dict[str, Any]) -> None:
        self.path = Path(path)
        db = open_results(self.path)
        db["evals"].insert({**eval_row, "status": "running", "finished": 0, "errors": 0})
        db.close()
        self.eval_id: str = eval_row["id"]
        self.written = 0
        self._queue: queue.Queue[RunRecord | None] = queue.Queue()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="hudproxy-eval-writer", daemon=True)
        self._thread.start()

    def put(self, record: RunRecord) -> None:
        if self._failure is not None:
            raise ConfigError(f"cannot write results to {self.path}: {self._failure}")
        self._queue.put(record)

    def close(self, status: str, totals: dict[str, Any], tasks: list[dict[str, Any]] | None = None) -> None:
        """Write what is queued, then the eval's final row and its tasks' reliability rows; raises if the writer
        failed meanwhile."""
        self._queue.put(None)
        self._thread.join()
        db = sqlite_utils.Database(self.path)
        try:
            db["evals"].update(self.eval_id, {**totals, "status": status})
            db["tasks"].insert_all([{**row, "eval_id": self.eval_id} for row in tasks or []], replace=True)
        finally:
            db.close()
        if self._failure is not None:
            raise ConfigError(f"cannot write results to {self.path}: {self._failure}")

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        done = False
        try:
            while not done:
                batch, done = self._next_batch()
                if batch:
                    self._write(conn, batch)
        except BaseException as exc:  # kept for the eval to report; the thread must not die silently
            self._failure = exc
            while not done:  # let `close` through
                done = self._queue.get() is None
        finally:
            conn.close()

    def _next_batch(self) -> tuple[list[RunRecord], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _write(self, conn: sqlite3.Connection, batch: list[RunRecord]) -> None:
        runs, calls, transcripts, scores, end_states = [], [], [], [], []
        for record in batch:
            run_id = f"{self.eval_id}-{record.run['idx']:06d}"
            runs.append([run_id if c == "id" else self.eval_id if c == "eval_id" else record.run[c] for c in RUNS])
            calls.extend([run_id, *(call[c] for c in CALL_FIELDS)] for call in record.calls)
            transcripts.append((run_id, dumps(record.transcript)))
            scores.extend(score_row(run_id, score) for score in record.scores)
            if record.end_state is not None or record.rubric is not None:
                end_states.append((run_id, record.rubric, dumps(record.graded_args), dumps(record.end_state or {})))
        conn.execute("BEGIN")
        try:
            conn.executemany(INSERT_RUN, runs)
            conn.executemany(INSERT_CALL, calls)
            conn.executemany(INSERT_TRANSCRIPT, transcripts)
            conn.executemany(INSERT_SCORE, scores)
            conn.executemany(INSERT_END_STATE, end_states)
            conn.execute("UPDATE evals SET finished = finished + ? WHERE id = ?", (len(batch), self.eval_id))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self.written += len(batch)


def score_row(run_id: str, score: dict[str, Any]) -> list[Any]:
    """A `scores` row from one of `Grade.rows()`."""
    return [run_id if c == "run_id" else dumps(score[c]) if c == "evidence" else score[c] for c in SCORE_COLUMNS]


def replace_scores(path: str | Path, graded: list[tuple[str, Any]]) -> None:
    """Store a re-grade (`hudproxy grade --save`): each run's `scores` rows, reward and sub-scores replaced by its
    new Grade, and every touched eval's mean reward recomputed; one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        create_schema(sqlite_utils.Database(conn))  # an older results database gains the scores table
        conn.execute("BEGIN")
        for run_id, grade in graded:
            conn.execute("DELETE FROM scores WHERE run_id = ?", (run_id,))
            conn.executemany(INSERT_SCORE, [score_row(run_id, row) for row in grade.rows()])
            conn.execute("UPDATE runs SET reward = ?, subscores = ? WHERE id = ? AND error IS NULL",
                         (grade.reward, dumps(grade.subscores()), run_id))  # fmt: skip
        conn.execute("UPDATE evals SET mean_reward = (SELECT avg(reward) FROM runs WHERE runs.eval_id = evals.id) "
                     "WHERE id IN (SELECT DISTINCT eval_id FROM runs)")  # fmt: skip
        conn.execute("COMMIT")
    finally:
        conn.close()
