"""Mixed workloads and whole-segment figures in the summary."""

import numpy as np
import pandas as pd
import pytest

from pairbench.stats.summary import summarize

BASELINES = {"event_loop_blocking": "blocking"}


def samples_of(variant: str, name: str, latency_ms: float, count: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(len(variant) + len(name))
    return pd.DataFrame(
        {"technique": "event_loop_blocking", "variant": variant, "point": "item=1",
         "mode": "closed", "repetition": 0, "phase": "measure", "name": name,
         "t_start": 1000.0 + np.arange(count) * 0.01,
         "latency_ms": rng.lognormal(np.log(latency_ms), 0.1, count), "status": 200,
         "dropped": 0, "upstream_calls": 1.0 if name == "target" else 0.0}
    )  # fmt: skip


def segment(variant: str, connections: float, lag_p99: float) -> dict[str, object]:
    return {"technique": "event_loop_blocking", "variant": variant, "point": "item=1",
            "mode": "closed", "repetition": 0, "users": 8, "generator_cpu_max": 20.0,
            "upstream_connections": connections, "upstream_requests": 200.0,
            "loop_lag_p99_ms": lag_p99, "loop_lag_max_ms": lag_p99 * 2}  # fmt: skip


@pytest.fixture
def summary() -> pd.DataFrame:
    samples = pd.concat(
        [samples_of("blocking", "target", 20.0), samples_of("blocking", "bystander", 15.0),
         samples_of("offloaded", "target", 18.0), samples_of("offloaded", "bystander", 1.5)]
    )  # fmt: skip
    segments = pd.DataFrame([segment("blocking", 100.0, 40.0), segment("offloaded", 0.0, 2.0)])
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
