"""Known-answer tests of the hierarchical bootstrap: coverage, exactness, seeding."""

import math
from typing import Any

import numpy as np
import pytest

from pairbench.stats.bootstrap import bootstrap_ci, bootstrap_ratio_ci


def lognormal_repetitions(
    rng: np.random.Generator, median: float, repetitions: int, size: int, sigma: float = 0.5
) -> list[np.ndarray]:
    return [rng.lognormal(math.log(median), sigma, size) for _ in range(repetitions)]


def test_ci_of_the_median_ratio_covers_the_true_ratio_in_at_least_93_of_100_trials() -> None:
    covered = 0
    for trial in range(100):
        rng = np.random.default_rng(1000 + trial)
        baseline = lognormal_repetitions(rng, 30.0, 3, 300)
        variant = lognormal_repetitions(rng, 10.0, 3, 300)
        _, low, high = bootstrap_ratio_ci(baseline, variant, resamples=2000, seed=trial)
        covered += low <= 3.0 <= high
    assert covered >= 93


def test_ci_of_the_p95_ratio_covers_the_true_ratio() -> None:
    """Lognormal p95 = median * exp(1.645 sigma): with equal sigmas the ratio is the medians'."""
    covered = 0
    for trial in range(100):
        rng = np.random.default_rng(5000 + trial)
        baseline = lognormal_repetitions(rng, 40.0, 3, 400, sigma=0.4)
        variant = lognormal_repetitions(rng, 10.0, 3, 400, sigma=0.4)
        _, low, high = bootstrap_ratio_ci(baseline, variant, 95.0, resamples=2000, seed=trial)
        covered += low <= 4.0 <= high
    assert covered >= 90


@pytest.mark.parametrize("q", [50.0, 95.0, 99.0])
def test_quantile_fast_path_matches_resampling_every_sample(q: float) -> None:
    """The exact order-statistic bootstrap agrees with the brute-force one."""
    rng = np.random.default_rng(7)
    baseline = [rng.lognormal(math.log(m), 0.4, n) for m, n in ((20, 250), (24, 251), (22, 99))]
    variant = lognormal_repetitions(rng, 10.0, 2, 200)

    def brute_force(values: np.ndarray, axis: int | None = None) -> Any:
        return np.percentile(values, q, axis=axis)

    fast = bootstrap_ratio_ci(baseline, variant, q, resamples=4000, seed=1)
    slow = bootstrap_ratio_ci(baseline, variant, brute_force, resamples=4000, seed=2)
    assert fast[0] == pytest.approx(slow[0])
    assert fast[1] == pytest.approx(slow[1], rel=0.03)
    assert fast[2] == pytest.approx(slow[2], rel=0.03)


def test_median_function_and_percentile_50_are_the_same_path() -> None:
    rng = np.random.default_rng(9)
    baseline, variant = (
        lognormal_repetitions(rng, 30, 2, 101),
        lognormal_repetitions(rng, 10, 2, 99),
    )
    assert bootstrap_ratio_ci(baseline, variant, np.median, seed=3) == bootstrap_ratio_ci(
        baseline, variant, 50.0, seed=3
    )


def test_bootstrap_is_seeded_and_handles_one_repetition() -> None:
    rng = np.random.default_rng(3)
    baseline = lognormal_repetitions(rng, 30.0, 1, 10_000)
    variant = lognormal_repetitions(rng, 10.0, 1, 10_000)
    ratio, low, high = bootstrap_ratio_ci(baseline, variant, resamples=2000, seed=5)
    assert low < ratio < high and low < 3.0 < high
    assert bootstrap_ratio_ci(baseline, variant, resamples=2000, seed=5) == (ratio, low, high)


def test_rates_put_the_variant_on_top() -> None:
    """For throughput, higher is better: the ratio is variant / baseline."""
    baseline = [np.full(10, 100.0), np.full(10, 100.0)]
    variant = [np.full(10, 250.0), np.full(10, 250.0)]
    assert bootstrap_ratio_ci(baseline, variant, np.mean, higher_is_better=True) == (
        pytest.approx(2.5),
        pytest.approx(2.5),
        pytest.approx(2.5),
    )


def test_repetitions_that_disagree_widen_the_interval() -> None:
    """Resampling repetitions first is what makes drift between them count."""
    rng = np.random.default_rng(12)
    steady = [rng.normal(100, 5, 200) for _ in range(4)]
    drifting = [rng.normal(mean, 5, 200) for mean in (80, 95, 105, 120)]
    _, steady_low, steady_high = bootstrap_ci(steady, np.mean, seed=1)
    _, drift_low, drift_high = bootstrap_ci(drifting, np.mean, seed=1)
    assert drift_high - drift_low > 3 * (steady_high - steady_low)


def test_bootstrap_of_an_empty_arm_is_nan() -> None:
    assert all(math.isnan(x) for x in bootstrap_ratio_ci([np.array([1.0])], [np.array([])]))
    assert all(math.isnan(x) for x in bootstrap_ci([]))


def test_resamples_with_no_throughput_at_all_do_not_break_the_interval() -> None:
    baseline = [np.array([0.0, 0.0, 4.0]), np.array([0.0, 0.0, 0.0])]  # bins of a stalled run
    variant = [np.array([5.0, 6.0, 5.0]), np.array([6.0, 5.0, 6.0])]
    ratio, low, high = bootstrap_ratio_ci(baseline, variant, np.mean, higher_is_better=True)
    assert ratio == pytest.approx(5.5 / (4.0 / 6.0))
    assert low <= ratio and high == math.inf  # some resamples saw no baseline throughput
    stalled = bootstrap_ratio_ci([np.zeros(3)], variant, np.mean, higher_is_better=True)
    assert all(math.isnan(x) for x in stalled)  # no baseline throughput: no ratio
