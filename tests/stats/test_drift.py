"""Drift across rounds: a monotone trend is a warning; noise alone is not."""

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.stats.drift import DRIFT_PREFIX, DRIFT_SIGNIFICANCE, drift_findings, round_trend


def test_a_steady_fall_over_ten_rounds_is_a_trend() -> None:
    medians = [456, 430, 420, 401, 390, 370, 352, 340, 331, 318]  # shaped like aggregation/naive's
    trend = round_trend(medians)
    assert trend.rho == -1.0 and trend.significant


def test_up_to_five_rounds_can_never_show_one() -> None:
    assert not round_trend([3.0, 2.0, 1.0]).significant  # 2 of 6 orderings are as extreme
    assert not round_trend([4.0, 3.0, 2.0, 1.0]).significant


def test_rounds_in_order_are_exactly_as_rare_as_two_of_all_orderings() -> None:
    five = round_trend([1.0, 2.0, 3.0, 4.0, 5.0])
    assert five.p_value == 2 / 120 and not five.significant  # 1.7%: not below 1%
    six = round_trend([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    assert six.p_value == 2 / 720 and six.significant


def test_noise_without_a_trend_warns_about_as_often_as_its_level_says() -> None:
    rng = np.random.default_rng(7)
    false_alarms = sum(round_trend(rng.normal(100.0, 10.0, 10)).significant for _ in range(2000))
    assert false_alarms / 2000 < DRIFT_SIGNIFICANCE * 2


def run_samples(medians: dict[str, list[float]]) -> pd.DataFrame:
    frames = []
    for variant, values in medians.items():
        for repetition, median in enumerate(values):
            frames.append(
                pd.DataFrame(
                    {
                        "technique": "aggregation",
                        "variant": variant,
                        "point": "default",
                        "mode": results.CLOSED,
                        "repetition": repetition,
                        "phase": results.MEASURE_PHASE,
                        "name": "target",
                        "latency_ms": [median] * 30,
                        "status": 200,
                        "dropped": 0,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def test_the_warning_names_the_variant_that_drifted_and_says_how() -> None:
    samples = run_samples(
        {"naive": [456, 430, 420, 401, 390, 370], "group_by": [20, 22, 19, 21, 20, 22]}
    )
    segments = pd.DataFrame(columns=results.SEGMENT_COLUMNS)
    found = drift_findings(samples, segments, {})
    assert len(found) == 1
    technique, message = found[0]
    assert technique == "aggregation" and message.startswith(f"{DRIFT_PREFIX}aggregation/naive")
    assert "p50 fell across its 6 rounds (456 to 370 ms" in message
