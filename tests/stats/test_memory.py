"""Memory and first-byte figures per variant, from segment rows and samples."""

import math

import pandas as pd
import pytest

from pairbench.stats.memory import MIN_REQUESTS_FOR_GROWTH_RATE, memory_figures
from pairbench.stats.summary import SUMMARY_COLUMNS


def samples(count: int, ttfb: list[float] | None = None, status: int = 200) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "repetition": 0,
            "phase": "measure",
            "status": status,
            "dropped": 0,
            "latency_ms": 10.0,
            "ttfb_ms": ttfb if ttfb is not None else [float("nan")] * count,
        },
        index=range(count),
    )


SEGMENTS = pd.DataFrame(
    {
        "rss_peak_mb": [150.0, 170.0, 160.0],
        "rss_measured_growth_mb": [2.0, 4.0, 6.0],
        "fresh_process": [True, True, True],
    }
)


def test_peak_is_the_highest_and_growth_the_mean_per_segment() -> None:
    figures = memory_figures(SEGMENTS, samples(3 * MIN_REQUESTS_FOR_GROWTH_RATE))
    assert figures["peak_rss_mb"] == 170.0
    assert figures["rss_growth_mb"] == 4.0
    assert figures["rss_growth_per_10k_mb"] == pytest.approx(12.0 / 3000 * 10_000)
    assert figures["fresh_process"] is True


def test_too_few_requests_give_no_growth_rate() -> None:
    figures = memory_figures(SEGMENTS, samples(MIN_REQUESTS_FOR_GROWTH_RATE - 1))
    assert math.isnan(figures["rss_growth_per_10k_mb"])
    assert figures["rss_growth_mb"] == 4.0


def test_fresh_process_needs_every_segment_and_reads_text_cells() -> None:
    mixed = SEGMENTS.assign(fresh_process=["True", "False", "True"])
    assert memory_figures(mixed, samples(10))["fresh_process"] is False
    text = SEGMENTS.assign(fresh_process=["True", "True", "True"])
    assert memory_figures(text, samples(10))["fresh_process"] is True


def test_ttfb_is_the_median_of_successful_requests_that_timed_it() -> None:
    ok = samples(4, ttfb=[1.0, 2.0, 9.0, float("nan")])
    failed = samples(2, ttfb=[500.0, 500.0], status=500)
    figures = memory_figures(SEGMENTS, pd.concat([ok, failed], ignore_index=True))
    assert figures["ttfb_p50_ms"] == 2.0


def test_which_process_served_is_named_and_older_runs_read_it_from_fresh_process() -> None:
    assert memory_figures(SEGMENTS, samples(10))["app_process"] == "fresh"  # no app_process
    assert memory_figures(SEGMENTS.assign(fresh_process=False), samples(10))["app_process"] == (
        "shared"
    )
    own = SEGMENTS.assign(app_process="own", fresh_process=False)
    assert memory_figures(own, samples(10))["app_process"] == "own"
    mixed = SEGMENTS.assign(app_process=["own", "shared", "own"])
    assert memory_figures(mixed, samples(10))["app_process"] == "mixed"


def test_runs_without_memory_columns_give_empty_figures() -> None:
    figures = memory_figures(pd.DataFrame({"variant": ["a"]}), samples(5).drop(columns="ttfb_ms"))
    assert (figures["fresh_process"], figures["app_process"]) == (False, "")
    served = ("fresh_process", "app_process")
    assert all(math.isnan(figures[name]) for name in figures if name not in served)


def test_the_summary_has_the_columns() -> None:
    assert {"peak_rss_mb", "rss_growth_mb", "rss_growth_per_10k_mb", "ttfb_p50_ms"} <= set(
        SUMMARY_COLUMNS
    )


def test_memory_share_is_the_peak_over_the_least_memory_available() -> None:
    segments = SEGMENTS.assign(memory_available_mb=[1000.0, 800.0, 1000.0])
    figures = memory_figures(segments, samples(10))
    assert figures["memory_share"] == pytest.approx(170.0 / 800.0)
    assert math.isnan(memory_figures(SEGMENTS, samples(10))["memory_share"])


def test_redis_growth_is_per_10k_requests_sent_in_every_phase() -> None:
    segments = SEGMENTS.assign(redis_growth_mb=[0.5, 0.25, 0.25])
    figures = memory_figures(segments, samples(10), sent=2_000)
    assert figures["redis_growth_per_10k_mb"] == pytest.approx(5.0)
    assert math.isnan(memory_figures(SEGMENTS, samples(10), sent=2_000)["redis_growth_per_10k_mb"])
    assert "redis_growth_per_10k_mb" in SUMMARY_COLUMNS
