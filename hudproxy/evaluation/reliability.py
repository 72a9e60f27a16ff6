"""Reliability over repeated trials of one task: pass@1, pass@k, pass^k and the mean reward's 95% interval.

With n trials of which c passed (reward ≥ the pass threshold):

    pass@1   c / n                               how often one attempt succeeds
    pass@k   1 - C(n-c, k) / C(n, k)             at least one of k attempts succeeds (Chen et al., 2021)
    pass^k   C(c, k) / C(n, k)                   all k attempts succeed (τ-bench, Yao et al., 2024)

Both are the unbiased estimators over the n trials run; with k = n (what `hudproxy eval --repeats K` reports)
pass@k is "any trial passed" and pass^k "every trial passed". The interval is Student's t over the trial rewards
(few trials: the normal 1.96 would claim more certainty than K=5 gives).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

# two-sided 95% Student t critical values by degrees of freedom; beyond 30 the normal value is close enough
T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
Z95 = 1.96


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k trials drawn from the n run passed."""
    _check(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all of k trials drawn from the n run passed."""
    _check(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of its 95% interval); one value has no spread to measure, so its half-width is NaN."""
    if not values:
        return math.nan, math.nan
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    df = len(values) - 1
    critical = T95[df - 1] if df <= len(T95) else Z95
    return mean, critical * statistics.stdev(values) / math.sqrt(len(values))


def _check(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
