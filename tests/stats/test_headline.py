"""Each technique judged on its own figure, of the requests it names."""

import math

import numpy as np
import pandas as pd
import pytest

from bench_app.headline import (
    BYTES_SENT,
    MEMORY_GROWTH,
    P50,
    PEAK_MEMORY,
    REDIS_GROWTH,
    Headline,
)
from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.manifest import Manifest
from pairbench.stats.headline import (
    headline_table,
    headlines_of,
    manifest_entry,
    round_figure,
    round_figures,
)

# The request kinds the workloads name (scenarios.invalidation, scenarios.bystanders; not
# imported: Locust monkey-patches on import).
READ_NAME, BYSTANDER_NAME = "read", "bystander"

READ_P99 = Headline("p99_ms", READ_NAME)


def samples(variant: str, repetition: int, kind: str, latencies: list[float]) -> pd.DataFrame:
    count = len(latencies)
    return pd.DataFrame(
        {
            "technique": "invalidation",
            "variant": variant,
            "point": "default",
            "mode": results.CLOSED,
            "repetition": repetition,
            "phase": results.MEASURE_PHASE,
            "name": kind,
            "t_start": np.arange(count) * 0.01,
            "latency_ms": latencies,
            "status": 200,
            "bytes": 100.0,
            "dropped": 0,
        }
    )


def mixed_round(variant: str, repetition: int, read_tail_ms: float) -> pd.DataFrame:
    """Targets alike in both variants; readers alike at p50 but apart in their tail."""
    reads = [5.0] * 95 + [read_tail_ms] * 5
    return pd.concat(
        [
            samples(variant, repetition, "target", [40.0] * 50),
            samples(variant, repetition, READ_NAME, reads),
        ]
    )


def test_a_round_figure_is_of_the_requests_the_headline_names() -> None:
    frame = mixed_round("keys_del", 0, read_tail_ms=120.0)
    assert round_figure(frame, None, P50) == 40.0  # the targets
    assert round_figure(frame, None, Headline("p50_ms", READ_NAME)) == 5.0
    assert round_figure(frame, None, READ_P99) == pytest.approx(120.0)
    assert math.isnan(round_figure(frame, None, Headline("p99_ms", BYSTANDER_NAME)))


def test_the_headline_speedup_is_the_readers_tail_not_the_targets_p50() -> None:
    rng = np.random.default_rng(1)
    frames = []
    for repetition in range(4):
        jitter = float(rng.uniform(0.95, 1.05))
        frames.append(mixed_round("keys_del", repetition, 120.0 * jitter))
        frames.append(mixed_round("tag_set", repetition, 15.0 * jitter))
    every = pd.concat(frames, ignore_index=True)
    kinds = pd.DataFrame(
        [
            {
                "technique": "invalidation",
                "variant": variant,
                "point": "default",
                "mode": results.CLOSED,
                "name": READ_NAME,
                "p99_ms": value,
            }
            for variant, value in (("keys_del", 120.0), ("tag_set", 15.0))
        ]
    )
    table = headline_table(
        every,
        pd.DataFrame(columns=results.SEGMENT_COLUMNS),
        kinds,
        {"invalidation": READ_P99},
        {"invalidation": "keys_del"},
        {},
    )
    row = table.set_index("variant").loc["tag_set"]
    assert row["headline"] == "read p99" and row["headline_value"] == 15.0
    assert row["headline_speedup"] == pytest.approx(8.0, rel=0.01)
    assert row["headline_ci_low"] > 7.0 and row["headline_verdict"] == "faster"
    base = table.set_index("variant").loc["keys_del"]
    assert base["headline_speedup"] == 1.0 and base["headline_verdict"] == "baseline"


def test_memory_growth_per_round_comes_from_the_segment_as_measured() -> None:
    frame = samples("bounded", 0, "target", [1.0] * 2000)
    growing = {"rss_measured_growth_mb": 10.0}
    assert round_figure(frame, growing, Headline(MEMORY_GROWTH)) == pytest.approx(50.0)
    flat = {"rss_measured_growth_mb": -0.2}  # RSS may even shrink a little: kept as it is
    assert round_figure(frame, flat, Headline(MEMORY_GROWTH)) == pytest.approx(-1.0)
    segments = pd.DataFrame([{"repetition": 0, "rss_measured_growth_mb": 10.0}])
    assert round_figures(frame, segments, Headline(MEMORY_GROWTH)) == {0: pytest.approx(50.0)}


def test_the_shared_apps_memory_is_no_variants_figure() -> None:
    frame = samples("bounded", 0, "target", [1.0] * 2000)
    shared = {"rss_measured_growth_mb": 10.0, "rss_peak_mb": 300.0, "app_process": "shared"}
    assert math.isnan(round_figure(frame, shared, Headline(MEMORY_GROWTH)))
    assert math.isnan(round_figure(frame, shared, Headline(PEAK_MEMORY)))
    own = {**shared, "app_process": "own"}
    assert round_figure(frame, own, Headline(MEMORY_GROWTH)) == pytest.approx(50.0)
    redis = {"redis_growth_mb": 1.0, "app_process": "shared"}  # Redis's is not the app's
    assert round_figure(frame, redis, Headline(REDIS_GROWTH)) == pytest.approx(5.0)


def test_redis_growth_per_round_counts_every_request_of_its_segment() -> None:
    """Read before and after the whole segment: the warm-up's requests are in it too."""
    measured = samples("kept_forever", 0, "target", [1.0] * 1500)
    warmup = samples("kept_forever", 0, "target", [1.0] * 500).assign(phase=results.WARMUP_PHASE)
    frame = pd.concat([warmup, measured], ignore_index=True)
    kept = {"redis_growth_mb": 1.5}  # 2,000 records of ~786 bytes
    assert round_figure(frame, kept, Headline(REDIS_GROWTH)) == pytest.approx(7.5)
    shrunk = {"redis_growth_mb": -0.01}  # another key expired meanwhile
    assert round_figure(frame, shrunk, Headline(REDIS_GROWTH)) == pytest.approx(-0.05)
    assert math.isnan(round_figure(frame, {}, Headline(REDIS_GROWTH)))


def growth_table(
    headline: Headline, growths: list[dict[str, float]], warmup_requests: int = 0
) -> pd.DataFrame:
    """The headline table of rounds in which each variant (the first is the baseline) sent
    1,000 requests (the first `warmup_requests` of them warming up) and grew by its figure
    in MB (a segment's growth column for the headline)."""
    column = "redis_growth_mb" if headline.figure == REDIS_GROWTH else "rss_measured_growth_mb"
    frames, rows = [], []
    for repetition, grown in enumerate(growths):
        for variant, megabytes in grown.items():
            warmup = samples(variant, repetition, "target", [1.0] * warmup_requests)
            measured = samples(variant, repetition, "target", [1.0] * (1000 - warmup_requests))
            frames += [warmup.assign(phase=results.WARMUP_PHASE), measured]
            rows.append(
                {
                    "technique": "invalidation",
                    "variant": variant,
                    "point": "default",
                    "mode": results.CLOSED,
                    "repetition": repetition,
                    column: megabytes,
                }
            )
    return headline_table(
        pd.concat(frames, ignore_index=True),
        pd.DataFrame(rows),
        pd.DataFrame(columns=["technique", "variant", "point", "mode", "name"]),
        {"invalidation": headline},
        {"invalidation": next(iter(growths[0]))},
        {},
    )


def test_the_headline_table_judges_redis_growth_by_what_it_saves_on_every_phase() -> None:
    # The better variant's growth is noise about none, below it in one round.
    growths = [
        {"kept_forever": 0.75 + residue, "deleted_on_finish": residue}
        for residue in (0.01, -0.02, 0.004)
    ]
    table = growth_table(Headline(REDIS_GROWTH), growths, warmup_requests=250)
    by_variant = table.set_index("variant")
    row = by_variant.loc["deleted_on_finish"]
    # 0.75 MB more over 1,000 requests sent is 7.5 MB per 10k saved, in every round alike.
    assert row["headline_speedup"] == pytest.approx(7.5)
    assert row["headline_ci_low"] == pytest.approx(7.5) == row["headline_ci_high"]
    assert row["headline_verdict"] == "faster"
    assert row["headline"] == "Redis memory growth per 10k requests"
    base = by_variant.loc["kept_forever"]
    assert (base["headline_speedup"], base["headline_verdict"]) == (0.0, "baseline")


def test_a_growth_within_noise_of_the_baselines_is_no_significant_difference() -> None:
    growths = [(0.2, 0.3), (0.3, 0.1), (0.1, 0.25)]
    table = growth_table(
        Headline(MEMORY_GROWTH),
        [{"unbounded": first, "bounded": second} for first, second in growths],
    )
    row = table.set_index("variant").loc["bounded"]
    # Per 10k: saves 2 - 3 = -1, 3 - 1 = 2, 1 - 2.5 = -1.5 MB: a mean of -0.17, CI across 0
    assert row["headline_speedup"] == pytest.approx(-0.5 / 3)
    assert row["headline_ci_low"] < 0 < row["headline_ci_high"]
    assert row["headline_verdict"] == "no significant difference"


def test_bytes_are_the_mean_sent_per_request() -> None:
    frame = samples("gzip", 0, "target", [1.0, 1.0]).assign(bytes=[100.0, 300.0])
    assert round_figure(frame, None, Headline(BYTES_SENT)) == 200.0


def test_a_headline_must_name_a_known_figure_and_memory_only_of_the_target() -> None:
    with pytest.raises(ValueError, match="not one of"):
        Headline("p42_ms")
    with pytest.raises(ValueError, match="own requests only"):
        Headline(MEMORY_GROWTH, READ_NAME)


def test_the_catalogs_headlines_name_kinds_their_workloads_send() -> None:
    declared = {key: technique.headline for key, technique in all_techniques().items()}
    assert declared["invalidation"] == READ_P99
    assert declared["event_loop_blocking"].kind == BYSTANDER_NAME
    assert declared["upstream_timeouts"].kind == BYSTANDER_NAME
    assert declared["bounded_cache"].figure == MEMORY_GROWTH
    assert declared["listener_leak"].figure == MEMORY_GROWTH
    assert declared["compression"].figure == BYTES_SENT
    assert declared["job_records"].figure == REDIS_GROWTH
    assert declared["n_plus_one"] == P50


def test_a_runs_manifest_keeps_the_headlines_it_was_judged_by() -> None:
    recorded = Manifest(run_id="run", headlines={"n_plus_one": manifest_entry(READ_P99)})
    assert headlines_of(recorded)["n_plus_one"] == READ_P99
    assert headlines_of(Manifest(run_id="run"))["n_plus_one"] == P50


def test_a_growth_from_one_round_is_its_difference_with_no_ci_and_says_so() -> None:
    table = growth_table(Headline(MEMORY_GROWTH), [{"unbounded": 0.5, "bounded": 0.01}])
    row = table.set_index("variant").loc["bounded"]
    assert row["headline_speedup"] == pytest.approx(4.9)  # (0.5 - 0.01) MB per 1,000 requests
    assert math.isnan(row["headline_ci_low"]) and row["headline_verdict"] == "no CI (one round)"
