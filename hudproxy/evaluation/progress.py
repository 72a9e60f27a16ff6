"""The live view of an eval in the terminal: a progress bar, runs/s, and how many runs got each reward so far."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from hudproxy.evaluation.execute import RunRecord
from hudproxy.evaluation.summary import EvalSummary, rate_text

REFRESH_S = 0.1


class EvalProgress:
    """`with EvalProgress(console) as view: await run_eval(..., on_start=view.on_start, on_result=view.on_result)`;
    nothing shows before `on_start`, so an eval refused for bad input prints only its error."""

    def __init__(self, console: Console, total: int | None = None, label: str = "runs") -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("{task.fields[rewards]}"),
            console=console, transient=False,
        )  # fmt: skip
        self.task = self.progress.add_task(label, total=total, rate="", rewards="")
        self._started = time.perf_counter()
        self._last = 0.0
        self._summary: EvalSummary | None = None

    def __enter__(self) -> EvalProgress:
        return self

    def on_start(self, summary: EvalSummary) -> None:
        self.progress.update(self.task, total=summary.planned)
        self._started = time.perf_counter()
        self.progress.start()

    def __exit__(self, *exc: object) -> None:
        if self._summary is not None:  # the last figures, not the last throttled redraw
            self._redraw(self._summary, time.perf_counter())
        self.progress.stop()

    def on_result(self, record: RunRecord, summary: EvalSummary) -> None:
        """run_eval's callback: counts every run, redraws the reward counts at most every REFRESH_S."""
        self._summary = summary
        now = time.perf_counter()
        if now - self._last < REFRESH_S and summary.finished < summary.planned:
            self.progress.advance(self.task)
            return
        self._redraw(summary, now)

    def _redraw(self, summary: EvalSummary, now: float) -> None:
        self._last = now
        rate = summary.finished / max(now - self._started, 1e-9)
        errors = f"  errors {summary.errors}" if summary.errors else ""
        rewards = f"rewards {summary.reward_counts()}{errors}"
        self.progress.update(self.task, completed=summary.finished, rate=rate_text(rate), rewards=rewards)
