"""The judge's answers kept in SQLite (sqlite-utils), keyed by (criterion, run content, model, samples): re-grading
the same runs asks no model, costs nothing and gives the same verdicts, whichever process asks.

    verdicts  criterion, content (sha256 of the transcript, the evidence and the judge's settings), model, samples
              → met (1, 0 or NULL), reason, answers (each sample's raw text, JSON), created

Only answers the model gave are kept; a judge that could not be reached is asked again next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlite_utils

from hudproxy.errors import ConfigError
from hudproxy.grading.judging import JudgeVerdict

VERDICTS = {"criterion": str, "content": str, "model": str, "samples": int, "met": int, "reason": str,
            "sample_verdicts": str, "answers": str, "created": str}  # fmt: skip
KEY = ("criterion", "content", "model", "samples")
CACHE_ENV = "HUDPROXY_JUDGE_CACHE"


def default_cache_path() -> Path:
    """$HUDPROXY_JUDGE_CACHE, else judge.db in $HUDPROXY_CACHE_DIR, else in ~/.cache/hudproxy."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    configured = os.environ.get("HUDPROXY_CACHE_DIR")
    if configured:
        return Path(configured) / "judge.db"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hudproxy" / "judge.db"


def content_hash(payload: dict[str, Any]) -> str:
    """The run content's key: canonical JSON, so equal content hashes equal across processes and runs."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class JudgeCache:
    """One SQLite file shared by threads (a lock) and processes (WAL, a busy timeout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db = sqlite_utils.Database(conn)
            self._db.enable_wal()
            self._db.execute("PRAGMA synchronous = NORMAL")  # WAL keeps it consistent; a lost answer is asked again
            self._db["verdicts"].create(VERDICTS, pk=KEY, if_not_exists=True)
        except (OSError, sqlite3.DatabaseError) as exc:
            message = f"judge cache {self.path}: cannot use it ({exc}); set {CACHE_ENV} to another file"
            raise ConfigError(message) from None
        self._lock = threading.Lock()

    def get(self, criterion: str, content: str, model: str, samples: int) -> JudgeVerdict | None:
        with self._lock:
            where = "criterion = ? AND content = ? AND model = ? AND samples = ?"
            rows = list(self._db["verdicts"].rows_where(where, [criterion, content, model, samples]))
        if not rows:
            return None
        row = rows[0]
        met = None if row["met"] is None else bool(row["met"])
        return JudgeVerdict(met, row["reason"], tuple(json.loads(row["sample_verdicts"])))

    def put(self, key: tuple[str, str, str, int], verdict: JudgeVerdict, answers: list[str]) -> None:
        criterion, content, model, samples = key
        row = {"criterion": criterion, "content": content, "model": model, "samples": samples,
               "met": None if verdict.met is None else int(verdict.met), "reason": verdict.reason,
               "sample_verdicts": json.dumps(list(verdict.samples)), "answers": json.dumps(answers, ensure_ascii=False),
               "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
        with self._lock:
            self._db["verdicts"].insert(row, replace=True)

    def count(self) -> int:
        with self._lock:
            return self._db["verdicts"].count

    def close(self) -> None:
        with self._lock:
            self._db.close()
