"""Speedups from rounds: known answers, and CIs that survive adaptive stopping."""

import math
from dataclasses import replace

import numpy as np
import pytest

from pairbench.load.measure import (
    STOPPED_AT_MINIMUM,
    STOPPED_BUDGET,
    STOPPED_TARGET_MET,
    decide_rounds,
)
from pairbench.profiles import PROFILES
from pairbench.stats.rounds import (
    difference_rounds_needed,
    round_difference_ci,
    round_ratio_ci,
    rounds_needed,
)

QUICK = PROFILES["quick"]


def test_with_every_round_planning_it_is_the_textbook_t_interval() -> None:
    base, other = [12.0, 10.0, 11.0, 13.0], [4.0, 4.0, 4.4, 4.0]
    logs = np.log(np.array(base) / np.array(other))
    half = 3.182446 * logs.std(ddof=1) / 2.0  # t(0.975, 3 df) x s / sqrt(4)
    ratio = round_ratio_ci(base, other)
    assert ratio.estimate == pytest.approx(math.exp(logs.mean()))
    assert ratio.low == pytest.approx(math.exp(logs.mean() - half), rel=1e-5)
    assert ratio.high == pytest.approx(math.exp(logs.mean() + half), rel=1e-5)
    assert ratio.rounds == 4


def test_stein_takes_the_spread_from_the_planning_rounds_only() -> None:
    base, other = [10.0, 12.0, 11.0, 10.0, 10.0], [5.0, 5.0, 5.0, 5.0, 5.0]
    planned = round_ratio_ci(base, other, planning_rounds=3)
    logs = np.log(np.array(base) / np.array(other))
    half = 4.302653 * logs[:3].std(ddof=1) / math.sqrt(5)  # t(0.975, 2 df), all 5 rounds
    assert planned.high / planned.estimate == pytest.approx(math.exp(half), rel=1e-5)


def test_throughput_ratios_are_variant_over_baseline() -> None:
    ratio = round_ratio_ci([100.0, 100.0], [300.0, 300.0], higher_is_better=True)
    assert ratio.estimate == pytest.approx(3.0) and ratio.half_width == pytest.approx(0.0)


def test_one_round_has_an_estimate_and_no_interval() -> None:
    ratio = round_ratio_ci([10.0], [5.0])
    assert ratio.estimate == pytest.approx(2.0) and math.isnan(ratio.low)


def test_more_spread_needs_more_rounds_and_none_spread_needs_none() -> None:
    steady = rounds_needed([10.0, 10.0, 10.0], [5.0, 5.0, 5.0], 0.10)
    mild = rounds_needed([10.0, 10.5, 9.6], [5.0, 5.0, 5.0], 0.10)
    noisy = rounds_needed([10.0, 13.0, 8.0], [5.0, 5.0, 5.0], 0.10)
    assert steady == 3 and 3 <= mild < noisy


def test_a_difference_is_the_t_interval_of_the_rounds_differences_and_may_be_negative() -> None:
    base, other = [20.0, 22.0, 21.0], [0.3, -0.2, 0.1]  # a growth, and none within noise
    differences = np.array(base) - np.array(other)
    half = 4.302653 * differences.std(ddof=1) / math.sqrt(3)  # t(0.975, 2 df)
    saved = round_difference_ci(base, other)
    assert saved.estimate == pytest.approx(differences.mean())
    assert (saved.low, saved.high) == (
        pytest.approx(differences.mean() - half, rel=1e-5),
        pytest.approx(differences.mean() + half, rel=1e-5),
    )
    assert saved.half_width == pytest.approx(half / differences.mean(), rel=1e-5)
    worse = round_difference_ci([0.1, -0.1, 0.0], [2.0, 2.2, 2.1])
    assert worse.estimate == pytest.approx(-2.1) and worse.high < 0
    assert math.isnan(round_difference_ci([1.0], [0.5]).low)


def test_a_difference_needs_more_rounds_the_more_it_spreads_and_none_of_nothing() -> None:
    steady = difference_rounds_needed([20.0, 20.0, 20.0], [0.0, 0.0, 0.0], 0.10)
    noisy = difference_rounds_needed([20.0, 24.0, 16.0], [0.5, -0.5, 0.0], 0.10)
    assert steady == 3 and noisy is not None and noisy > 3
    assert difference_rounds_needed([1.0, -1.0], [0.0, 0.0], 0.10) is None


def test_decide_rounds_says_why() -> None:
    assert decide_rounds(3, 100, QUICK) == (3, STOPPED_AT_MINIMUM)
    assert decide_rounds(5, 100, QUICK) == (5, STOPPED_TARGET_MET)
    assert decide_rounds(50, 100, QUICK) == (QUICK.max_rounds, STOPPED_BUDGET)
    assert decide_rounds(8, 4, QUICK) == (4, STOPPED_BUDGET)
    assert decide_rounds(None, 100, QUICK) == (QUICK.max_rounds, STOPPED_BUDGET)
    assert decide_rounds(8, 1, QUICK) == (QUICK.min_rounds, STOPPED_BUDGET)


def _round_medians(
    rng: np.random.Generator, true_ratio: float, round_noise: float, samples: int
) -> tuple[float, float]:
    """One round of a baseline and a variant: each side's p50 of lognormal latencies,
    both shifted by the round's drift and each by its own segment-to-segment noise."""
    drift = rng.normal(0.0, 0.2)
    medians = []
    for median in (20.0, 20.0 / true_ratio):
        shift = drift + rng.normal(0.0, round_noise)
        latencies = rng.lognormal(math.log(median) + shift, 0.5, samples)
        medians.append(float(np.median(latencies)))
    return medians[0], medians[1]


def _adaptive_run(
    rng: np.random.Generator, true_ratio: float, round_noise: float
) -> tuple[float, float, int]:
    """The quick profile's stopping rule on simulated rounds; the p50 speedup's CI."""
    profile = replace(QUICK, max_rounds=12)
    rounds = [_round_medians(rng, true_ratio, round_noise, 150) for _ in range(profile.min_rounds)]
    base, other = zip(*rounds, strict=True)
    assert profile.target_half_width is not None
    needed = rounds_needed(base, other, profile.target_half_width)
    planned, _ = decide_rounds(needed, affordable=100, profile=profile)
    rounds += [_round_medians(rng, true_ratio, round_noise, 150) for _ in range(planned - 3)]
    base, other = zip(*rounds, strict=True)
    ratio = round_ratio_ci(base, other, planning_rounds=profile.min_rounds)
    return ratio.low, ratio.high, len(rounds)


@pytest.mark.parametrize(
    ("true_ratio", "round_noise"),
    [(1.0, 0.02), (1.0, 0.12), (3.0, 0.05), (2.0, 0.15), (1.5, 0.0)],
    ids=["equal-quiet", "equal-noisy", "3x", "2x-very-noisy", "1.5x-sampling-only"],
)
def test_adaptive_stopping_keeps_the_ci_honest(true_ratio: float, round_noise: float) -> None:
    """Stopping when the CI is narrow enough must not make it lie: over 200 seeded runs
    the 95% CI covers the true ratio at least 93% of the time."""
    rng = np.random.default_rng(20261129)
    runs = [_adaptive_run(rng, true_ratio, round_noise) for _ in range(200)]
    covered = sum(low <= true_ratio <= high for low, high, _ in runs)
    assert covered / len(runs) >= 0.93, (covered, np.mean([n for _, _, n in runs]))
    assert min(n for _, _, n in runs) >= QUICK.min_rounds
