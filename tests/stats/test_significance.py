"""Known answers of the Mann-Whitney U test and of the verdict rules."""

import itertools
import math

import numpy as np
import pytest

from pairbench.stats.significance import mann_whitney_u, repetition_u_test, verdict


def permutation_p(first: list[float], second: list[float]) -> float:
    """Two-sided p of U by enumerating every split of the pooled values (the definition)."""
    pooled = first + second

    def u_of(chosen: tuple[int, ...]) -> float:
        inside = [pooled[i] for i in chosen]
        outside = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        return sum((a > b) + 0.5 * (a == b) for a in inside for b in outside)

    mean = len(first) * len(second) / 2.0
    observed = abs(u_of(tuple(range(len(first)))) - mean)
    splits = list(itertools.combinations(range(len(pooled)), len(first)))
    extreme = sum(abs(u_of(split) - mean) >= observed - 1e-9 for split in splits)
    return extreme / len(splits)


def test_complete_separation_of_six_against_six() -> None:
    """All 6 below all 6: U = 0 and p = 2 / C(12, 6) = 2 / 924."""
    u, p = mann_whitney_u([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
    assert u == 0.0
    assert p == pytest.approx(2 / 924)


@pytest.mark.parametrize("seed", range(5))
def test_exact_p_without_ties_is_the_permutation_p(seed: int) -> None:
    rng = np.random.default_rng(seed)
    first, second = rng.normal(0, 1, 6).tolist(), rng.normal(0.7, 1, 7).tolist()
    u, p = mann_whitney_u(first, second)
    assert u == sum(a > b for a in first for b in second)
    assert p == pytest.approx(permutation_p(first, second))


def test_ties_use_the_normal_approximation_close_to_the_permutation_p() -> None:
    first, second = [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0], [3.0, 4.0, 5.0, 6.0, 6.0, 7.0, 8.0]
    u, p = mann_whitney_u(first, second)
    assert u == pytest.approx(sum((a > b) + 0.5 * (a == b) for a in first for b in second))
    assert p == pytest.approx(permutation_p(first, second), abs=0.02)


def test_u_is_symmetric_and_empty_sides_are_nan() -> None:
    first, second = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0], [2.0, 6.0, 5.5, 3.5, 8.0, 9.5]
    u_ab, p_ab = mann_whitney_u(first, second)
    u_ba, p_ba = mann_whitney_u(second, first)
    assert u_ab + u_ba == 36 and p_ab == pytest.approx(p_ba)
    assert all(math.isnan(x) for x in mann_whitney_u([], [1.0]))


def test_the_u_test_needs_six_repetitions_a_side() -> None:
    assert repetition_u_test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) is None
    p = repetition_u_test([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
    assert p == pytest.approx(2 / 924)


@pytest.mark.parametrize(
    ("low", "high", "p", "expected"),
    [
        (1.2, 1.5, None, "faster"),
        (0.5, 0.9, None, "slower"),
        (0.9, 1.1, None, "no significant difference"),
        (1.2, 1.5, 0.01, "faster"),
        (1.2, 1.5, 0.20, "no significant difference"),  # repetitions overlap: not settled
        (math.nan, math.nan, None, "no data"),
    ],
)
def test_verdict_needs_the_ci_to_exclude_one_and_the_u_test_to_agree(
    low: float, high: float, p: float | None, expected: str
) -> None:
    assert verdict(low, high, p) == expected
