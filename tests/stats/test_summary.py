"""Known-answer tests of the summary: percentiles, bootstrap CIs, summary rows, throughput."""

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pairbench.stats.stability import stability_warnings
from pairbench.stats.summary import (
    SUMMARY_COLUMNS,
    percentile,
    summarize,
    throughput_bins,
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
    mode: str = "closed",
) -> list[dict[str, Any]]:
    """Rows of samples.csv for requests sent every `step` seconds from `start`."""
    return [
        {
            "technique": technique,
            "variant": variant,
            "point": point,
            "mode": mode,
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
    # Two rounds: the geometric mean of each round's ratio. p50s: naive 25 then 30, fast 5.
    assert fast["speedup_p50"] == pytest.approx(math.sqrt(25.0 / 5.0 * 30.0 / 5.0))
    assert fast["speedup_ci_low"] <= fast["speedup_p50"] <= fast["speedup_ci_high"]
    assert fast["speedup_ci_low"] > 1.0 and fast["verdict"] == "faster"
    # p95: naive's rounds 10 20 30 40 -> rank 2.85: 38.5; 10 20 30 40 1000 -> rank 3.8: 808
    assert fast["speedup_p95"] == pytest.approx(math.sqrt(38.5 / 5.0 * 808.0 / 5.0))
    measured = samples[samples["phase"] == "measure"].assign(dropped=0)
    per_round = [
        np.mean(fast_bins) / np.mean(naive_bins)
        for naive_bins, fast_bins in zip(
            throughput_bins(measured[measured["variant"] == "naive"]),
            throughput_bins(measured[measured["variant"] == "fast"]),
            strict=True,
        )
    ]
    assert fast["speedup_rps"] == pytest.approx(math.exp(np.mean(np.log(per_round))))
    assert fast["rps"] == pytest.approx(10 / (2.005 * 2))
    assert math.isnan(fast["u_test_p"])  # 2 repetitions: too few for the U test
    assert naive["p999_ms"] == pytest.approx(
        percentile([10, 10, 20, 20, 30, 30, 40, 40, 1000], 99.9)
    )


def test_summarize_without_a_known_baseline_says_so() -> None:
    samples = pd.DataFrame(sample_rows("only", 0, [1.0, 2.0]))
    summary = summarize(samples, pd.DataFrame(), {}, {})
    assert summary.loc[0, "verdict"] == "no baseline"
    assert math.isnan(float(summary["speedup_p50"].iloc[0]))
    assert math.isnan(float(summary["generator_cpu_max"].iloc[0]))


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


def test_throughput_bins_count_requests_per_second_of_each_repetition() -> None:
    """40 requests sent every 0.25 s: 4 per second, in 8 bins of 1.25 s' width at most 1 s."""
    rows = sample_rows("naive", 0, [1.0] * 40, step=0.25)  # 1000.0 .. 1009.751
    rows += sample_rows("naive", 1, [1.0] * 8, step=0.25, start=2000.0)  # span 1.751 s
    bins = throughput_bins(pd.DataFrame(rows).assign(dropped=0))
    assert [len(part) for part in bins] == [9, 8]
    assert bins[0] == pytest.approx(np.full(9, 4.0))
    width = 1.751 / 8
    assert bins[1] * width == pytest.approx([1, 1, 1, 1, 1, 1, 1, 1])  # one send per bin


def test_the_throughput_ratio_and_its_ci_for_steady_rates() -> None:
    rows = []
    for repetition in range(3):
        start = 1000.0 * (repetition + 1)
        rows += sample_rows("naive", repetition, [1.0] * 100, step=0.1, start=start)  # 10/s
        rows += sample_rows("fast", repetition, [1.0] * 300, step=1 / 30, start=start + 500)
    summary = summarize(pd.DataFrame(rows), pd.DataFrame(), {}, {"demo": "naive"})
    fast = summary[summary["variant"] == "fast"].iloc[0]
    assert fast["speedup_rps"] == pytest.approx(3.0, rel=0.01)
    assert fast["speedup_rps_ci_low"] == pytest.approx(3.0, rel=0.05)
    assert fast["speedup_rps_ci_high"] == pytest.approx(3.0, rel=0.05)
    assert fast["verdict_rps"] == "faster"
    assert fast["rps_ci_low"] <= fast["rps"] <= fast["rps_ci_high"]


def test_six_repetitions_a_side_bring_in_the_u_test() -> None:
    rng = np.random.default_rng(21)
    rows = []
    for repetition in range(6):
        start = 1000.0 * (repetition + 1)
        for variant, median in (("naive", 30.0), ("fast", 10.0)):
            latencies = rng.lognormal(math.log(median), 0.3, 150).tolist()
            rows += sample_rows(variant, repetition, latencies, start=start, step=0.01)
    summary = summarize(pd.DataFrame(rows), pd.DataFrame(), {}, {"demo": "naive"})
    fast = summary[summary["variant"] == "fast"].iloc[0]
    assert fast["u_test_p"] == pytest.approx(2 / 924)  # every repetition median is below
    assert fast["verdict"] == "faster" and fast["verdict_p95"] == "faster"


def open_loop_rows(variant: str, lags: list[float], latencies: list[float]) -> list[dict[str, Any]]:
    rows = sample_rows(variant, 0, latencies, mode="open", step=0.01)
    for row, lag in zip(rows, lags, strict=True):
        row["send_lag_ms"] = lag
        row["dropped"] = 0
    return rows


def test_open_loop_rows_count_dropped_and_late_sends_and_the_service_time() -> None:
    latencies = [float(n) for n in range(10, 210)]  # from the intended send time
    lags = [0.5] * 180 + [50.0] * 20  # 20 sends left 50 ms late
    rows = open_loop_rows("naive", lags, latencies)
    dropped = sample_rows("naive", 0, [math.nan] * 5, mode="open", status=0, start=1003.0)
    for row in dropped:
        row.update(dropped=1, send_lag_ms=math.nan)
    rows += dropped
    rows += open_loop_rows("fast", [0.5] * 200, [5.0] * 200)
    segments = segment_rows(["naive", "fast"], 1).assign(mode="open", rate=100.0, users=math.nan)
    summary = summarize(pd.DataFrame(rows), segments, {}, {"demo": "naive"})
    naive = summary[summary["variant"] == "naive"].iloc[0]
    assert naive["mode"] == "open" and naive["rate"] == 100.0 and math.isnan(naive["users"])
    assert naive["requests"] == 200 and naive["failures"] == 0  # dropped sends are not requests
    assert naive["dropped"] == 5 and naive["late_sends"] == 20
    assert naive["p50_ms"] == pytest.approx(109.5)
    service = [latency - lag for latency, lag in zip(latencies, lags, strict=True)]
    assert naive["service_p50_ms"] == pytest.approx(percentile(service, 50))
    assert naive["service_p99_ms"] < naive["p99_ms"]

    warnings = "\n".join(stability_warnings(pd.DataFrame(rows), segments))
    assert "demo/naive at n=1 (open loop): 5 of 205 scheduled sends were dropped" in warnings
    assert "20 sends left more than 10 ms behind schedule" in warnings


def test_a_variant_with_no_measured_request_keeps_a_row_saying_so() -> None:
    rows = sample_rows("naive", 0, [10.0] * 150)
    rows += sample_rows("slow", 0, [900.0, 900.0], phase="warmup")  # all in the warm-up
    summary = summarize(pd.DataFrame(rows), pd.DataFrame(), {}, {"demo": "naive"})
    slow = summary[summary["variant"] == "slow"].iloc[0]
    assert slow["requests"] == 0 and slow["verdict"] == "no data"
    assert math.isnan(slow["p50_ms"]) and math.isnan(slow["rps"])
    assert stability_warnings(pd.DataFrame(rows), pd.DataFrame()) == [
        "demo/slow at n=1: no request was measured; all 2 fell in the warm-up: the app is far "
        "slower than the profile's segments allow"
    ]
