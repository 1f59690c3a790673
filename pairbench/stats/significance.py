"""Is a difference real? Verdicts from bootstrap CIs and a Mann-Whitney U test on repetitions.

The bootstrap CI says how big a speedup is and how sure we are of it. With enough
repetitions on each side, a rank test on the repetition medians adds pyperf's question:
would another run of the whole comparison come out the same way? A verdict is
"faster" or "slower" only when every test that applies agrees.
"""

import math
from collections.abc import Sequence

import numpy as np

SIGNIFICANCE_LEVEL = 0.05
MIN_REPETITIONS_FOR_U_TEST = 6  # below this the test cannot reach 5% on repetition medians
FASTER, SLOWER, NO_DIFFERENCE = "faster", "slower", "no significant difference"
NO_INTERVAL = "no CI (one round)"  # a figure with no spread to judge it by: smoke's memory
VERDICTS = ("baseline", FASTER, SLOWER, NO_DIFFERENCE, "no baseline", "no data", NO_INTERVAL)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def _exact_u_counts(first: int, second: int) -> list[int]:
    """How many of the C(first+second, first) orderings give each U value (no ties)."""
    # counts[a][b] is the distribution for sizes (a, b), built up one observation at a time.
    table = [[[1] for _ in range(second + 1)] for _ in range(first + 1)]
    for a in range(1, first + 1):
        for b in range(1, second + 1):
            size = a * b + 1
            counts = [0] * size
            for u, ways in enumerate(table[a - 1][b]):  # the largest is from the first sample
                counts[u + b] += ways
            for u, ways in enumerate(table[a][b - 1]):  # the largest is from the second
                counts[u] += ways
            table[a][b] = counts
    return table[first][second]


def mann_whitney_u(first: Sequence[float], second: Sequence[float]) -> tuple[float, float]:
    """Mann-Whitney U of `first` against `second` and its two-sided p-value.

    U counts the pairs where `first` is larger (ties count a half). The p-value is exact
    when there are no ties, else from the normal approximation with tie and continuity
    corrections. NaNs if either side is empty.
    """
    x, y = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if not x.size or not y.size:
        return float("nan"), float("nan")
    pooled = np.concatenate([x, y])
    ranks = _average_ranks(pooled)
    u = float(ranks[: x.size].sum() - x.size * (x.size + 1) / 2.0)
    smaller = min(u, x.size * y.size - u)
    _, tie_sizes = np.unique(pooled, return_counts=True)
    if (tie_sizes == 1).all():
        counts = _exact_u_counts(x.size, y.size)
        below = sum(counts[: int(math.floor(smaller)) + 1])
        return u, min(1.0, 2.0 * below / sum(counts))
    n = pooled.size
    ties = float((tie_sizes**3 - tie_sizes).sum())
    variance = x.size * y.size / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return u, 1.0
    z = max(abs(u - x.size * y.size / 2.0) - 0.5, 0.0) / math.sqrt(variance)
    return u, math.erfc(z / math.sqrt(2.0))


def repetition_u_test(
    baseline_medians: Sequence[float], variant_medians: Sequence[float]
) -> float | None:
    """The U test's p-value on repetition medians, or None with too few repetitions."""
    if min(len(baseline_medians), len(variant_medians)) < MIN_REPETITIONS_FOR_U_TEST:
        return None
    return mann_whitney_u(baseline_medians, variant_medians)[1]


def verdict(ci_low: float, ci_high: float, u_test_p: float | None = None) -> str:
    """Faster, slower or neither, for a ratio where above 1 means the variant is better.

    Significant when the CI excludes 1 and, if the U test applies, it rejects equality.
    """
    if math.isnan(ci_low) or math.isnan(ci_high):
        return "no data"
    if u_test_p is not None and not u_test_p < SIGNIFICANCE_LEVEL:
        return NO_DIFFERENCE
    return FASTER if ci_low > 1.0 else SLOWER if ci_high < 1.0 else NO_DIFFERENCE
