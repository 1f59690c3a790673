"""Mixed workloads and whole-segment figures in the summary."""

import numpy as np
import pandas as pd
import pytest

from pairbench.stats.segment_figures import gc_pauses_differ
from pairbench.stats.summary import summarize

BASELINES = {"event_loop_blocking": "blocking"}


def samples_of(variant: str, name: str, latency_ms: float, count: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(len(variant) + len(name))
    return pd.DataFrame(
        {
            "technique": "event_loop_blocking",
            "variant": variant,
            "point": "item=1",
            "mode": "closed",
            "repetition": 0,
            "phase": "measure",
            "name": name,
            "t_start": 1000.0 + np.arange(count) * 0.01,
            "latency_ms": rng.lognormal(np.log(latency_ms), 0.1, count),
            "status": 200,
            "dropped": 0,
            "upstream_calls": 1.0 if name == "target" else 0.0,
        }
    )


def segment(
    variant: str, connections: float, lag_p99: float, gc_pause_ms: float = 8.0
) -> dict[str, object]:
    return {
        "technique": "event_loop_blocking",
        "variant": variant,
        "point": "item=1",
        "mode": "closed",
        "repetition": 0,
        "users": 8,
        "generator_cpu_max": 20.0,
        "upstream_connections": connections,
        "upstream_requests": 200.0,
        "loop_lag_p99_ms": lag_p99,
        "loop_lag_max_ms": lag_p99 * 2,
        "gc_collections": 20.0,
        "gc_pause_ms": gc_pause_ms,
        "gc_pause_max_ms": gc_pause_ms / 4,
    }


@pytest.fixture
def summary() -> pd.DataFrame:
    samples = pd.concat(
        [
            samples_of("blocking", "target", 20.0),
            samples_of("blocking", "bystander", 15.0),
            samples_of("offloaded", "target", 18.0),
            samples_of("offloaded", "bystander", 1.5),
        ]
    )
    segments = pd.DataFrame(
        [segment("blocking", 100.0, 40.0, gc_pause_ms=80.0), segment("offloaded", 0.0, 2.0)]
    )
    return summarize(samples, segments, {}, BASELINES, resamples=200)


def test_each_request_kind_is_its_own_distribution_compared_with_its_own_kind(
    summary: pd.DataFrame,
) -> None:
    rows = summary.set_index(["variant", "name"])
    assert len(rows) == 4
    assert rows.loc[("offloaded", "bystander"), "p50_ms"] == pytest.approx(1.5, rel=0.1)
    assert rows.loc[("offloaded", "bystander"), "speedup_p50"] == pytest.approx(10.0, rel=0.15)
    assert rows.loc[("offloaded", "target"), "speedup_p50"] == pytest.approx(20 / 18, rel=0.1)


def test_segment_figures_land_on_the_rows_the_stub_counts_only_on_the_variants_own(
    summary: pd.DataFrame,
) -> None:
    rows = summary.set_index(["variant", "name"])
    assert rows.loc[("blocking", "target"), "stub_connections_per_request"] == 0.5
    assert rows.loc[("blocking", "target"), "stub_calls_per_request"] == 1.0
    assert np.isnan(rows.loc[("blocking", "bystander"), "stub_calls_per_request"])
    assert rows.loc[("blocking", "bystander"), "loop_lag_p99_ms"] == 40.0
    assert rows.loc[("offloaded", "target"), "loop_lag_max_ms"] == 4.0


def test_gc_pauses_per_1k_measured_requests_of_every_kind(summary: pd.DataFrame) -> None:
    rows = summary.set_index(["variant", "name"])
    # 400 measured requests a variant (200 of its own, 200 bystanders): 80 ms -> 200 per 1k.
    assert rows.loc[("blocking", "target"), "gc_pause_ms_per_1k"] == pytest.approx(200.0)
    assert rows.loc[("blocking", "bystander"), "gc_pause_ms_per_1k"] == pytest.approx(200.0)
    assert rows.loc[("offloaded", "target"), "gc_pause_ms_per_1k"] == pytest.approx(20.0)
    assert rows.loc[("offloaded", "target"), "gc_collections_per_1k"] == pytest.approx(50.0)
    assert rows.loc[("blocking", "target"), "gc_pause_max_ms"] == 20.0


def test_gc_pauses_differ_when_one_variant_pauses_half_as_much_again() -> None:
    assert gc_pauses_differ([200.0, 20.0])
    assert gc_pauses_differ([0.0, 1.0])
    assert not gc_pauses_differ([10.0, 12.0, 11.0])
    assert not gc_pauses_differ([0.0, 0.0])
    assert not gc_pauses_differ([10.0, float("nan")])
