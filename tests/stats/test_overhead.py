"""The overhead summary: paired ratios against the floor, round by round."""

import pandas as pd
import pytest

from pairbench.stats.overhead import summarize_overhead


def table(extra_us: dict[str, float], rounds: int = 8) -> pd.DataFrame:
    rows = []
    for round_number in range(rounds):
        drift = 1.0 + 0.3 * (round_number % 3)  # the machine's load moves all configs alike
        for config, extra in extra_us.items():
            rows.append(
                {
                    "target": "trivial",
                    "path": "/health/live",
                    "config": config,
                    "round": round_number,
                    "requests": 30,
                    "cpu_us_per_request": (200.0 + extra) * drift,
                }
            )
    return pd.DataFrame(rows)


def test_overhead_is_the_paired_ratio_to_the_floor_whatever_the_drift() -> None:
    found = summarize_overhead(table({"off": 0.0, "meter": 4.0, "meter+metrics": 10.0}))
    by_config = found.set_index("config")
    assert by_config.loc["off", "overhead"] == 0.0
    assert by_config.loc["meter", "overhead"] == pytest.approx(0.02)
    assert by_config.loc["meter", "overhead_ci_low"] == pytest.approx(0.02)
    assert bool(by_config.loc["meter", "within_target"])
    assert by_config.loc["meter+metrics", "overhead"] == pytest.approx(0.05)
    assert not bool(by_config.loc["meter+metrics", "within_target"])
    assert (found["rounds"] == 8).all() and (found["requests"] == 8 * 30).all()


def test_without_a_floor_there_is_nothing_to_compare() -> None:
    assert summarize_overhead(table({"meter": 4.0})).empty
