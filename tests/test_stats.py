"""Known-answer tests of the statistics: percentiles, bootstrap CIs, summary rows, warnings."""

import math
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pairbench.stats import (
    SUMMARY_COLUMNS,
    bootstrap_ratio_ci,
    percentile,
    stability_warnings,
    summarize,
    verdict,
)


def sample_rows(
    variant: str,
    repetition: int,
    latencies: list[float],
    *,
    status: int = 200,
    phase: str = "measure",
    start: float = 1000.0,
    step: float = 0.5,
    technique: str = "demo",
    point: str = "n=1",
    queries: float = 1.0,
) -> list[dict[str, Any]]:
    """Rows of samples.csv for requests sent every `step` seconds from `start`."""
    return [
        {
            "technique": technique,
            "variant": variant,
            "point": point,
            "repetition": repetition,
            "phase": phase,
            "t_start": start + index * step,
            "latency_ms": latency,
            "status": status,
            "bytes": 1000 if status == 200 else 20,
            "queries": queries if status == 200 else math.nan,
            "db_ms": latency / 2,
            "redis_commands": 0.0,
            "upstream_calls": 0.0,
            "app_ms": latency * 0.8,
            "error": "" if status == 200 else "HTTP 500",
        }
        for index, latency in enumerate(latencies)
    ]


def segment_rows(
    variants: list[str], repetitions: int, cpu: float = 40.0, technique: str = "demo"
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "technique": technique,
                "variant": variant,
                "point": "n=1",
                "repetition": repetition,
                "started": 0.0,
                "ended": 10.0,
                "users": 4,
                "generator_cpu_max": cpu,
            }
            for variant in variants
            for repetition in range(repetitions)
        ]
    )


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 25, 1.75),  # rank (4 - 1) * 0.25 = 0.75: 1 + 0.75 * (2 - 1)
        ([1, 2, 3, 4], 0, 1.0),
        ([1, 2, 3, 4], 100, 4.0),
        ([4, 1, 3, 2, 5], 50, 3.0),  # order of the samples does not matter
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90, 91.0),  # rank 8.1
        ([7], 99, 7.0),
    ],
)
def test_percentile_interpolates_linearly_between_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


def test_summarize_counts_rates_and_percentiles_by_hand() -> None:
    rows = sample_rows("naive", 0, [999.0, 999.0], phase="warmup", start=990.0)
    rows += sample_rows("naive", 0, [10, 20, 30, 40])  # sent at 1000.0 .. 1001.5
    rows += sample_rows("naive", 0, [5], status=500, start=1002.0)  # ends at 1002.005
    rows += sample_rows("naive", 1, [10, 20, 30, 40, 1000], start=2000.0)  # ends at 2003.0
    rows += sample_rows("fast", 0, [5.0] * 5, queries=2.0)  # 1000.0 .. 1002.005
    rows += sample_rows("fast", 1, [5.0] * 5, queries=2.0, start=2000.0)
    samples = pd.DataFrame(rows)
    equivalence = {"demo": {"fast": {"equivalent": True, "detail": "same body"}}}
    summary = summarize(samples, segment_rows(["naive", "fast"], 2), equivalence, {"demo": "naive"})

    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["variant"]) == ["naive", "fast"]  # the baseline first
    naive, fast = (row for _, row in summary.iterrows())
    assert naive["baseline"] and not fast["baseline"]
    assert naive["requests"] == 10 and naive["failures"] == 1
    assert naive["error_rate"] == pytest.approx(0.1)
    # successful latencies: 10 10 20 20 30 30 40 40 1000 -> median 30, p90 rank 7.2
    assert naive["p50_ms"] == pytest.approx(30.0)
    assert naive["p90_ms"] == pytest.approx(40 + 0.2 * 960)
    assert naive["max_ms"] == pytest.approx(1000.0)
    assert naive["mean_ms"] == pytest.approx(1200 / 9)
    assert naive["rps"] == pytest.approx(10 / (2.005 + 3.0))
    assert naive["queries_per_request"] == pytest.approx(1.0)  # failures' costs left out
    assert naive["bytes_per_request"] == pytest.approx(1000.0)
    assert naive["db_ms_per_request"] == pytest.approx(600 / 9)
    assert naive["repetitions"] == 2 and naive["users"] == 4
    assert naive["generator_cpu_max"] == pytest.approx(40.0)
    assert not naive["equivalent"]  # absent from equivalence.json
    assert (naive["speedup_p50"], naive["speedup_ci_low"], naive["speedup_ci_high"]) == (1, 1, 1)
    assert naive["verdict"] == "baseline"

    assert fast["equivalent"] and fast["queries_per_request"] == pytest.approx(2.0)
    assert fast["speedup_p50"] == pytest.approx(30.0 / 5.0)
    assert fast["speedup_ci_low"] <= 6.0 <= fast["speedup_ci_high"]
    assert fast["speedup_ci_low"] > 1.0 and fast["verdict"] == "faster"


def test_summarize_without_a_known_baseline_says_so() -> None:
    samples = pd.DataFrame(sample_rows("only", 0, [1.0, 2.0]))
    summary = summarize(samples, pd.DataFrame(), {}, {})
    assert summary.loc[0, "verdict"] == "no baseline"
    assert math.isnan(float(summary["speedup_p50"].iloc[0]))
    assert math.isnan(float(summary["generator_cpu_max"].iloc[0]))


def lognormal_repetitions(
    rng: np.random.Generator, median: float, repetitions: int, size: int
) -> list[np.ndarray]:
    return [rng.lognormal(math.log(median), 0.5, size) for _ in range(repetitions)]


def test_bootstrap_ci_covers_the_true_median_ratio() -> None:
    covered = 0
    for trial in range(100):
        rng = np.random.default_rng(1000 + trial)
        baseline = lognormal_repetitions(rng, 30.0, 3, 300)
        variant = lognormal_repetitions(rng, 10.0, 3, 300)
        _, low, high = bootstrap_ratio_ci(baseline, variant, resamples=1000, seed=trial)
        covered += low <= 3.0 <= high
    assert covered >= 93


def test_median_fast_path_matches_resampling_every_sample() -> None:
    """The exact order-statistic bootstrap of the median agrees with the brute-force one."""
    rng = np.random.default_rng(7)
    baseline = [rng.lognormal(math.log(m), 0.4, n) for m, n in ((20, 250), (24, 251), (22, 99))]
    variant = lognormal_repetitions(rng, 10.0, 2, 200)

    def brute_force_median(values: np.ndarray, axis: int | None = None) -> Any:
        return np.median(values, axis=axis)

    fast = bootstrap_ratio_ci(baseline, variant, resamples=4000, seed=1)
    slow = bootstrap_ratio_ci(baseline, variant, brute_force_median, resamples=4000, seed=2)
    assert fast[0] == slow[0]
    assert fast[1] == pytest.approx(slow[1], rel=0.02)
    assert fast[2] == pytest.approx(slow[2], rel=0.02)


def test_bootstrap_is_seeded_fast_and_handles_one_repetition() -> None:
    rng = np.random.default_rng(3)
    baseline = lognormal_repetitions(rng, 30.0, 1, 10_000)
    variant = lognormal_repetitions(rng, 10.0, 1, 10_000)
    started = time.perf_counter()
    ratio, low, high = bootstrap_ratio_ci(baseline, variant, resamples=2000, seed=5)
    assert time.perf_counter() - started < 1.0
    assert low < ratio < high and low < 3.0 < high
    assert bootstrap_ratio_ci(baseline, variant, resamples=2000, seed=5) == (ratio, low, high)


def test_bootstrap_of_an_empty_arm_is_nan() -> None:
    assert all(math.isnan(x) for x in bootstrap_ratio_ci([np.array([1.0])], [np.array([])]))


def test_identical_distributions_show_no_significant_difference() -> None:
    rng = np.random.default_rng(11)
    rows = []
    for repetition in range(3):
        for variant in ("naive", "same"):
            latencies = rng.lognormal(math.log(20.0), 0.5, 300).tolist()
            rows += sample_rows(variant, repetition, latencies, start=1000.0 * (repetition + 1))
    summary = summarize(pd.DataFrame(rows), pd.DataFrame(), {}, {"demo": "naive"})
    same = summary[summary["variant"] == "same"].iloc[0]
    assert same["speedup_ci_low"] <= 1.0 <= same["speedup_ci_high"]
    assert same["verdict"] == "no significant difference"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(1.2, 1.5, "faster"), (0.5, 0.9, "slower"), (0.9, 1.1, "no significant difference")],
)
def test_verdict_follows_whether_the_ci_excludes_one(
    low: float, high: float, expected: str
) -> None:
    assert verdict(low, high) == expected


def test_warnings_fire_on_an_unstable_run() -> None:
    rng = np.random.default_rng(2)
    rows = sample_rows("naive", 0, rng.normal(10.0, 0.5, 40).tolist())
    rows += sample_rows("naive", 1, rng.normal(20.0, 0.5, 40).tolist(), start=2000.0)
    rows += sample_rows("naive", 1, [1.0, 1.0], status=0, start=3000.0)
    rows += sample_rows("naive", 1, [1.0], status=503, start=3001.0)
    warnings = stability_warnings(pd.DataFrame(rows), segment_rows(["naive"], 2, cpu=97.0))
    text = "\n".join(warnings)
    assert len(warnings) == 4, text
    assert "demo/naive at n=1: per-repetition medians vary" in text
    assert "3 of 83 requests failed (connection error x2, HTTP 503 x1)" in text
    assert "only 80 successful samples" in text
    assert "load generator CPU reached 97%" in text


def test_no_warnings_on_a_stable_run() -> None:
    rng = np.random.default_rng(4)
    rows = []
    for repetition in range(3):
        latencies = rng.lognormal(math.log(10.0), 0.3, 200).tolist()
        rows += sample_rows("naive", repetition, latencies, start=1000.0 * (repetition + 1))
    rows += sample_rows("naive", 0, [50.0] * 5, phase="warmup", status=0)  # warm-up is ignored
    assert stability_warnings(pd.DataFrame(rows), segment_rows(["naive"], 3, cpu=35.0)) == []
