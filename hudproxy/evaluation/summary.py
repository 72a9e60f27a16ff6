"""What an eval comes to, kept as it goes (so memory does not grow with stored runs): per scenario the runs,
mean reward (an errored run scores 0), errors, run-time percentiles and mean sub-scores; and the final table."""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from hudproxy.evaluation.execute import RunRecord


@dataclass
class ScenarioStats:
    runs: int = 0
    errors: int = 0
    reward_sum: float = 0.0
    durations: array = field(default_factory=lambda: array("d"))
    subscore_sums: Counter[str] = field(default_factory=Counter)

    def add(self, record: RunRecord) -> None:
        self.runs += 1
        self.errors += record.error is not None
        self.reward_sum += record.reward
        self.durations.append(record.duration_ms)
        self.subscore_sums.update(record.subscores)

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
        return {name: total / self.runs for name, total in sorted(self.subscore_sums.items())}


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

    def add(self, record: RunRecord) -> None:
        self.scenarios.setdefault(record.scenario, ScenarioStats()).add(record)
        self.rewards[round(record.reward, 2)] += 1
        if record.run.get("prompt_tokens") is not None:
            self.tokens.update(prompt=record.run["prompt_tokens"], completion=record.run["completion_tokens"])
            if record.run.get("cost") is not None:
                self.cost = (self.cost or 0.0) + record.run["cost"]

    def usage_text(self) -> str:
        """`; tokens 1,204 prompt + 310 completion ($0.0004)`: an LLM agent's usage, for the caption."""
        if not self.tokens:
            return ""
        cost = f" (${self.cost:.4f})" if self.cost is not None else ""
        return f"; tokens {self.tokens['prompt']:,} prompt + {self.tokens['completion']:,} completion{cost}"

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
