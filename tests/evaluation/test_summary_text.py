"""The eval's last line in words a reader trusts: milliseconds under a second, not `0.0s (115 runs/s)`."""

from __future__ import annotations

import pytest

from hudproxy.evaluation.execute import RunRecord
from hudproxy.evaluation.summary import EvalSummary, duration_text, rate_text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0349, "35 ms"), (0.9994, "999 ms"), (1.0, "1.0 s"), (4.23, "4.2 s"), (187.4, "3 min 07 s")],
)
def test_durations_keep_the_precision_their_size_deserves(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(("per_s", "text"), [(115.3, "115 runs/s"), (17.44, "17.4 runs/s"), (2.43, "2.4 runs/s"),
                                             (0.052, "0.052 runs/s")])  # fmt: skip
def test_rates_keep_two_or_three_significant_figures(per_s: float, text: str) -> None:
    assert rate_text(per_s) == text


def finished(summary: EvalSummary, runs: int) -> EvalSummary:
    for _ in range(runs):
        run = {"scenario": "update-order", "reward": 1.0, "error": None, "duration_ms": 8.0, "subscores": "{}"}
        summary.add(RunRecord(run, [], []))
    return summary


def test_a_fast_eval_says_milliseconds() -> None:
    summary = finished(EvalSummary("e1", "shop", "scripted", "local", 0, planned=4), 4)
    summary.elapsed_s = 0.0347
    assert summary.table().caption == "done: 4/4 runs in 35 ms (115 runs/s), mean reward 1.000, 0 errors"


def test_one_run_has_no_rate() -> None:
    summary = finished(EvalSummary("e1", "shop", "scripted", "local", 0, planned=1), 1)
    summary.elapsed_s = 0.012
    assert summary.table().caption == "done: 1/1 runs in 12 ms, mean reward 1.000, 0 errors"
