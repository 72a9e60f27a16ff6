"""What an eval comes to, kept as it goes (so memory does not grow with stored runs): per scenario the runs,
mean reward (an errored run scores 0), errors, run-time percentiles and mean sub-scores; per task (a scenario
with its arguments, run `repeats` times) its trials' rewards, for pass@1, pass@k, pass^k and flips; the tables."""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from hudproxy.evaluation.execute import RunRecord
from hudproxy.evaluation.reliability import mean_interval, pass_at_k, pass_hat_k

PASS_THRESHOLD = 1.0  # a trial passes with reward >= this (`--pass-threshold`): full marks, as τ-bench counts
TASK_ROWS = 25  # tasks the reliability table lists; the rest are in the results database


@dataclass
class ScenarioStats:
    runs: int = 0
    errors: int = 0
    reward_sum: float = 0.0
    durations: array = field(default_factory=lambda: array("d"))
    subscore_sums: Counter[str] = field(default_factory=Counter)
    subscore_runs: Counter[str] = field(default_factory=Counter)  # runs that scored it (a rubric's n/a is left out)

    def add(self, record: RunRecord) -> None:
        self.runs += 1
        self.errors += record.error is not None
        self.reward_sum += record.reward
        self.durations.append(record.duration_ms)
        subscores = record.subscores
        self.subscore_sums.update(subscores)
        self.subscore_runs.update(subscores.keys())

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.runs if self.runs else math.nan

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of run time (ms)."""
        if not self.durations:
            return math.nan
        ordered = sorted(self.durations)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

    def subscores(self) -> dict[str, float]:
        """Mean of each sub-score (a rubric's criteria) over the runs that scored it."""
        return {name: total / self.subscore_runs[name] for name, total in sorted(self.subscore_sums.items())}


@dataclass(frozen=True)
class Reliability:
    """A task's trials in figures; k is the number of trials run (the task's repeats unless the eval stopped)."""

    k: int
    passed: int
    pass_at_1: float
    pass_at_k: float
    pass_hat_k: float
    mean_reward: float
    interval: float  # half-width of the mean reward's 95% interval (NaN for one trial)

    @property
    def flips(self) -> bool:
        """The outcome changed between trials: some passed, some did not."""
        return 0 < self.passed < self.k


@dataclass
class TaskStats:
    """One task's trials: each trial's reward, by trial number (runs finish in any order)."""

    task: int
    scenario: str
    args: str  # the arguments as stored in `runs.args` (JSON)
    planned: int = 0
    rewards: dict[int, float] = field(default_factory=dict)

    def add(self, record: RunRecord) -> None:
        self.rewards[int(record.run.get("repeat", len(self.rewards)))] = record.reward

    def reliability(self, threshold: float = PASS_THRESHOLD) -> Reliability | None:
        """None before any trial finished."""
        values = [self.rewards[trial] for trial in sorted(self.rewards)]
        if not values:
            return None
        n, c = len(values), sum(value >= threshold for value in values)
        mean, interval = mean_interval(values)
        return Reliability(n, c, c / n, pass_at_k(n, c, n), pass_hat_k(n, c, n), mean, interval)

    @property
    def label(self) -> str:
        """`update-order order_id=A1`: the scenario and its arguments, short enough for a table cell."""
        args = json.loads(self.args) if self.args else {}
        text = " ".join(f"{key}={value}" for key, value in args.items())
        shown = f"{self.scenario} {text}".strip()
        return shown if len(shown) <= 48 else shown[:47] + "…"


@dataclass
class EvalSummary:
    """Returned by `run_eval`; `interrupted` when Ctrl-C (or `stop`) ended it early, keeping what finished."""

    eval_id: str
    env: str
    agent: str
    backend: str
    seed: int
    planned: int
    out: Path | None = None
    scenarios: dict[str, ScenarioStats] = field(default_factory=dict)
    rewards: Counter[float] = field(default_factory=Counter)
    interrupted: bool = False
    elapsed_s: float = 0.0
    tokens: Counter[str] = field(default_factory=Counter)  # prompt / completion tokens of LLM agents' calls
    cost: float | None = None  # USD, when a price table priced every model call
    pass_threshold: float = PASS_THRESHOLD
    tasks: dict[int, TaskStats] = field(default_factory=dict)

    def plan(self, tasks: list[tuple[str, str, int]]) -> None:
        """The tasks to come, as (scenario, args JSON, trials planned), so a task shows even before it finishes."""
        for number, (scenario, args, trials) in enumerate(tasks):
            self.tasks[number] = TaskStats(number, scenario, args, trials)

    def add(self, record: RunRecord) -> None:
        self.scenarios.setdefault(record.group, ScenarioStats()).add(record)  # calm and faulted runs apart
        self.rewards[round(record.reward, 2)] += 1
        if record.run.get("prompt_tokens") is not None:
            self.tokens.update(prompt=record.run["prompt_tokens"], completion=record.run["completion_tokens"])
            if record.run.get("cost") is not None:
                self.cost = (self.cost or 0.0) + record.run["cost"]
        number = record.run.get("task")
        if number is not None:
            found = self.tasks.get(number)
            if found is None:
                found = self.tasks[number] = TaskStats(number, record.scenario, record.run.get("args") or "{}")
            found.add(record)

    def usage_text(self) -> str:
        """`; tokens 1,204 prompt + 310 completion ($0.0004)`: an LLM agent's usage, for the caption."""
        if not self.tokens:
            return ""
        cost = f" (${self.cost:.4f})" if self.cost is not None else ""
        return f"; tokens {self.tokens['prompt']:,} prompt + {self.tokens['completion']:,} completion{cost}"

    @property
    def repeated(self) -> bool:
        """Some task is planned (or ran) more than once: then reliability over trials means something."""
        return any(max(t.planned, len(t.rewards)) > 1 for t in self.tasks.values())

    def task_rows(self) -> list[dict[str, Any]]:
        """One row per task that ran: the results database's `tasks` table."""
        rows = []
        for number, stats in sorted(self.tasks.items()):
            figures = stats.reliability(self.pass_threshold)
            if figures is None:
                continue
            rows.append({"task": number, "scenario": stats.scenario, "args": stats.args, "planned": stats.planned,
                         "trials": figures.k, "passed": figures.passed, "pass_threshold": self.pass_threshold,
                         "pass_at_1": figures.pass_at_1, "pass_at_k": figures.pass_at_k,
                         "pass_hat_k": figures.pass_hat_k, "mean_reward": figures.mean_reward,
                         "interval_95": None if math.isnan(figures.interval) else figures.interval,
                         "flips": int(figures.flips)})  # fmt: skip
        return rows

    @property
    def finished(self) -> int:
        return sum(s.runs for s in self.scenarios.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.scenarios.values())

    @property
    def mean_reward(self) -> float:
        runs = self.finished
        return sum(s.reward_sum for s in self.scenarios.values()) / runs if runs else math.nan

    @property
    def runs_per_s(self) -> float:
        return self.finished / self.elapsed_s if self.elapsed_s else math.nan

    def reward_counts(self, limit: int = 5) -> str:
        """`1.0 x812, 0.5 x20, 0.0 x3`: the most frequent rewards, for the live progress line."""
        common = sorted(self.rewards.most_common(limit), key=lambda item: -item[0])
        more = " …" if len(self.rewards) > limit else ""
        return ", ".join(f"{value!r} x{count}" for value, count in common) + more

    def totals(self) -> dict[str, Any]:
        """The `evals` row's final figures."""
        mean = self.mean_reward
        return {"finished": self.finished, "errors": self.errors, "mean_reward": None if math.isnan(mean) else mean}

    def table(self) -> Table:
        title = f"eval {self.eval_id}: {self.env}, agent {self.agent} ({self.backend}, seed {self.seed})"
        table = Table(title=title, title_justify="left")
        for column in ("scenario", "runs", "mean reward", "errors", "p50 ms", "p95 ms", "sub-scores (mean)"):
            table.add_column(column, justify="left" if column.startswith(("scenario", "sub")) else "right")
        for name, stats in sorted(self.scenarios.items()):
            subscores = ", ".join(f"{key} {value:.2f}" for key, value in stats.subscores().items())
            table.add_row(name, str(stats.runs), f"{stats.mean_reward:.3f}", str(stats.errors),
                          f"{stats.percentile(50):.1f}", f"{stats.percentile(95):.1f}", subscores)  # fmt: skip
        state = "interrupted" if self.interrupted else "done"
        rate = f" ({rate_text(self.runs_per_s)})" if self.finished > 1 and self.elapsed_s > 0 else ""
        table.caption = (f"{state}: {self.finished}/{self.planned} runs in {duration_text(self.elapsed_s)}{rate}, "
                         f"mean reward {self.mean_reward:.3f}, {self.errors} errors{self.usage_text()}"
                         + (f"; results in {self.out}" if self.out else ""))  # fmt: skip
        table.caption_justify = "left"
        return table

    def reliability_table(self, limit: int = TASK_ROWS) -> Table | None:
        """Per task over its trials: pass@1, pass@k (any passed), pass^k (all passed), mean reward ± 95%, and
        whether the outcome flips between trials; None when no task has more than one trial. Past `limit` tasks
        the table shows the flipping ones first, then the least reliable; the caption covers every task."""
        if not self.repeated:
            return None
        figures = {n: f for n, t in sorted(self.tasks.items()) if (f := t.reliability(self.pass_threshold))}
        ks = {f.k for f in figures.values()}
        k = str(next(iter(ks))) if len(ks) == 1 else "k"
        table = Table(title=f"reliability over trials (pass: reward ≥ {self.pass_threshold:g})", title_justify="left")
        for column in ("task", "trials", "passed", "pass@1", f"pass@{k}", f"pass^{k}", "mean reward ± 95%", "flips"):
            table.add_column(column, justify="left" if column in ("task", "flips") else "right")
        shown = list(figures)
        if len(shown) > limit:
            shown = sorted(sorted(shown, key=lambda n: (not figures[n].flips, figures[n].pass_hat_k))[:limit])
        for number in shown:
            found = figures[number]
            interval = "" if math.isnan(found.interval) else f" ± {found.interval:.3f}"
            table.add_row(f"#{number + 1} {self.tasks[number].label}", str(found.k), str(found.passed),
                          f"{found.pass_at_1:.3f}", f"{found.pass_at_k:.3f}", f"{found.pass_hat_k:.3f}",
                          f"{found.mean_reward:.3f}{interval}", "flips" if found.flips else "")  # fmt: skip
        if figures:
            flipping = sum(f.flips for f in figures.values())
            count = f"{len(figures)} task" + ("s" if len(figures) != 1 else "")
            flips = f"{flipping} task flips" if flipping == 1 else f"{flipping} tasks flip"
            more = (f" (shown: {len(shown)}, flipping first, then the least reliable; all in the results' tasks "
                    "table)" if len(shown) < len(figures) else "")  # fmt: skip
            table.caption = (f"{count}{more}: mean pass@1 {_mean(f.pass_at_1 for f in figures.values()):.3f}, "
                             f"pass@{k} {_mean(f.pass_at_k for f in figures.values()):.3f}, "
                             f"pass^{k} {_mean(f.pass_hat_k for f in figures.values()):.3f}; "
                             f"{flips} between trials")  # fmt: skip
            table.caption_justify = "left"
        return table


def _mean(values: Any) -> float:
    found = list(values)
    return sum(found) / len(found) if found else math.nan


def duration_text(seconds: float) -> str:
    """`35 ms`, `4.2 s`, `3 min 07 s`: the precision the magnitude deserves (not `0.0s` for a fast eval)."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def rate_text(per_s: float) -> str:
    """`115 runs/s`, `2.4 runs/s`, `0.05 runs/s`: two or three significant figures."""
    if math.isnan(per_s):
        return "? runs/s"
    if per_s >= 100:
        return f"{per_s:.0f} runs/s"
    return f"{per_s:.2g} runs/s" if per_s < 10 else f"{per_s:.1f} runs/s"
