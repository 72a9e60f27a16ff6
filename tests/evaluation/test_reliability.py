"""pass@k, pass^k and the mean's interval, checked against their definitions by enumeration."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from hudproxy.evaluation.reliability import T95, mean_interval, pass_at_k, pass_hat_k


@pytest.mark.parametrize(("n", "c", "k"), [(5, 0, 5), (5, 3, 5), (5, 5, 5), (6, 2, 3), (7, 4, 2), (4, 1, 1)])
def test_estimators_equal_the_share_of_k_subsets_that_pass(n: int, c: int, k: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(outcomes, k))
    assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))
    assert pass_hat_k(n, c, k) == pytest.approx(sum(all(s) for s in subsets) / len(subsets))


def test_with_k_equal_to_the_trials_pass_at_k_is_any_and_pass_hat_k_is_all() -> None:
    assert (pass_at_k(5, 1, 5), pass_hat_k(5, 1, 5)) == (1.0, 0.0)
    assert (pass_at_k(5, 5, 5), pass_hat_k(5, 5, 5)) == (1.0, 1.0)
    assert (pass_at_k(5, 0, 5), pass_hat_k(5, 0, 5)) == (0.0, 0.0)


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="n=3 c=4 k=3"):
        pass_at_k(3, 4, 3)
    with pytest.raises(ValueError, match="k=0"):
        pass_hat_k(3, 1, 0)


def test_the_interval_is_students_t_over_the_trials() -> None:
    values = [0.0, 1.0, 1.0, 0.5]
    mean, half = mean_interval(values)
    assert mean == pytest.approx(0.625)
    assert half == pytest.approx(T95[2] * statistics.stdev(values) / 2)  # 3 degrees of freedom, sqrt(4) = 2
    assert mean_interval([1.0] * 3) == (1.0, 0.0)
    one = mean_interval([0.7])
    assert one[0] == 0.7 and math.isnan(one[1])
    assert math.isnan(mean_interval([])[0])
    many = [float(n % 2) for n in range(100)]
    assert mean_interval(many)[1] == pytest.approx(1.96 * statistics.stdev(many) / 10)
