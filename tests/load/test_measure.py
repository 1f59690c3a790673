"""Segments' raw rows become tidy samples and console lines; the open-loop rate comes from
the baseline; each round's order of variants; the stopping rule judges the headline."""

import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench_app.headline import P50, Headline
from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.load.measure import (
    Arms,
    half_widths,
    open_loop_rate,
    planned_rounds,
    progress_line,
    round_medians,
    round_order,
    tidy_samples,
)
from pairbench.load.open_loop import RAW_COLUMNS
from pairbench.plan import Point
from pairbench.profiles import OPEN_LOOP_LOAD, PROFILES
from scenarios.samples import SAMPLE_COLUMNS as LOCUST_COLUMNS

POINT = Point(all_techniques()["n_plus_one"], {"authors": 50})


def raw_csv(path: Path, columns: list[str], starts: list[float]) -> Path:
    rows = [
        {column: "" for column in columns} | {"t_start": t, "latency_ms": 5.0, "status": 200}
        for t in starts
    ]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("columns", "mode"), [(LOCUST_COLUMNS, "closed"), (RAW_COLUMNS, "open")])
def test_both_generators_rows_become_the_same_tidy_columns(
    tmp_path: Path, columns: list[str], mode: str
) -> None:
    raw = raw_csv(tmp_path / "raw.csv", columns, [100.0, 100.5, 101.2, 103.0])
    frame = tidy_samples(raw, POINT, "naive", 2, (101.0, 102.5), mode=mode)
    assert list(frame.columns) == results.SAMPLE_COLUMNS
    assert list(frame["phase"]) == ["warmup", "warmup", "measure", "cooldown"]
    assert set(frame["mode"]) == {mode} and set(frame["point"]) == {"authors=50"}
    assert set(frame["repetition"]) == {2}


def test_the_open_loop_rate_is_a_share_of_the_baselines_closed_loop_throughput() -> None:
    starts = [1000.0 + i * 0.01 for i in range(500)]  # 100 requests per second
    frame = pd.DataFrame(
        {
            "t_start": starts,
            "latency_ms": 1.0,
            "status": 200,
            "phase": "measure",
            "repetition": 0,
            "dropped": 0,
        }
    )
    rate = open_loop_rate({"naive": [frame]}, pd.DataFrame(columns=results.PROBE_COLUMNS), POINT)
    assert rate == pytest.approx(OPEN_LOOP_LOAD * 500 / 4.991)


def test_without_closed_loop_results_the_probe_sets_a_lower_rate() -> None:
    probe = pd.DataFrame(
        {
            "technique": "n_plus_one",
            "variant": ["naive", "naive", "joined"],
            "point": "authors=50",
            "latency_ms": [20.0, 20.0, 2.0],
        }
    )
    assert open_loop_rate({}, probe, POINT) == pytest.approx(OPEN_LOOP_LOAD * 50.0)


def test_locusts_request_name_is_kept_as_the_samples_kind(tmp_path: Path) -> None:
    from scenarios.samples import SampleRecorder

    recorder = SampleRecorder(str(tmp_path / "raw.csv"))
    for name in ("target", "bystander"):
        recorder.on_request(
            response_time=5.0,
            response_length=10,
            response=None,
            exception=None,
            start_time=100.0,
            name=name,
        )
    recorder.close()
    frame = tidy_samples(tmp_path / "raw.csv", POINT, "naive", 0, (0.0, 1e12), mode="closed")
    assert list(frame["name"]) == ["target", "bystander"]


def test_open_loop_rows_are_the_variants_own_requests(tmp_path: Path) -> None:
    raw = raw_csv(tmp_path / "raw.csv", RAW_COLUMNS, [100.0, 100.5])
    frame = tidy_samples(raw, POINT, "naive", 0, (0.0, 1e12), mode="open")
    assert set(frame["name"]) == {results.TARGET_NAME}


def test_a_segments_console_line_gives_the_variants_own_requests_and_counts_the_others() -> None:
    names = [results.TARGET_NAME] * 4 + ["read"] * 6
    frame = pd.DataFrame(
        {
            "t_start": [1000.0 + i * 0.1 for i in range(10)],
            "phase": "measure",
            "name": names,
            "latency_ms": [10.0, 20.0, 30.0, 40.0] + [1.0] * 6,
            "status": [200] * 9 + [500],
            "dropped": 0,
        }
    )
    line = progress_line(frame, seconds=2.0)
    assert line == (
        "4 requests, 0 failed, p50 25.0 ms, ~2 req/s (and 6 requests of other kinds)"
    ), line


def test_the_stopping_rule_judges_the_variants_own_requests_alone() -> None:
    """A mixed workload's other kinds (readers, bystanders) are not the variant's figure:
    the round medians the stopping rule compares are of the target requests only."""
    names = [results.TARGET_NAME] * 3 + ["read"] * 6
    frame = pd.DataFrame(
        {
            "t_start": [1000.0 + i * 0.1 for i in range(9)],
            "phase": "measure",
            "name": names,
            "latency_ms": [10.0, 20.0, 30.0] + [1.0] * 6,
            "status": 200,
            "dropped": 0,
        }
    )
    assert round_medians([frame, frame[frame["name"] == results.TARGET_NAME]]) == [20.0, 20.0]


# Each round's order of variants.


def orders(seed: int, rounds: int = 12) -> list[list[str]]:
    rng = random.Random(seed)
    return [round_order(["naive", "offset", "keyset"], rng) for _ in range(rounds)]


def test_every_round_has_every_variant_once_in_an_order_that_varies() -> None:
    found = orders(seed=3)
    assert all(sorted(order) == ["keyset", "naive", "offset"] for order in found)
    assert len({tuple(order) for order in found}) > 1
    assert len({order[0] for order in found}) > 1  # no variant always goes first


def test_the_same_seed_gives_the_same_orders() -> None:
    assert orders(seed=11) == orders(seed=11)
    assert orders(seed=11) != orders(seed=12)


# The stopping rule judges each technique's headline, of the requests it names.


def segment(kind_latencies: dict[str, list[float]]) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {
                "phase": results.MEASURE_PHASE,
                "name": kind,
                "latency_ms": values,
                "status": 200,
                "dropped": 0,
            }
        )
        for kind, values in kind_latencies.items()
    ]
    return pd.concat(frames, ignore_index=True)


def measured_rounds(
    read_tails: dict[str, list[float]],
) -> dict[str, list[tuple[pd.DataFrame, dict]]]:
    """Per arm, rounds whose targets agree exactly and whose readers' p99 is given; the
    targets of the second arm are noisy from round to round, the readers are not."""
    rng = np.random.default_rng(0)
    found: dict[str, list[tuple[pd.DataFrame, dict]]] = {}
    for arm, tails in read_tails.items():
        for tail in tails:
            target = [40.0 * float(rng.uniform(0.5, 1.5)) if arm == "tag_set" else 40.0] * 20
            frame = segment({"target": target, "read": [5.0] * 99 + [tail]})
            found.setdefault(arm, []).append((frame, {}))
    return found


ARMS = {"keys_del": "keys_del", "tag_set": "tag_set"}


def test_the_rounds_needed_and_the_ci_are_of_the_readers_tail_when_that_is_the_headline() -> None:
    measured = measured_rounds({"keys_del": [120.0, 118.0, 121.0], "tag_set": [15.0, 15.2, 14.9]})
    profile = PROFILES["quick"]
    on_reads = Arms("invalidation", ARMS, "keys_del", Headline("p99_ms", "read"))
    on_targets = Arms("invalidation", ARMS, "keys_del", P50)
    steady = half_widths(measured, on_reads, 3)["tag_set"]
    noisy = half_widths(measured, on_targets, 3)["tag_set"]
    assert steady < 0.05 < noisy
    assert planned_rounds(measured, on_reads, profile) == profile.min_rounds
    needed = planned_rounds(measured, on_targets, profile)
    assert needed is not None and needed > profile.min_rounds


def test_a_headline_kind_the_rounds_lack_gives_no_plan() -> None:
    measured = measured_rounds({"keys_del": [120.0, 118.0], "tag_set": [15.0, 15.2]})
    on_bystanders = Arms("invalidation", ARMS, "keys_del", Headline("p50_ms", "bystander"))
    assert planned_rounds(measured, on_bystanders, PROFILES["quick"]) is None
    assert math.isnan(half_widths(measured, on_bystanders, 2)["tag_set"])
