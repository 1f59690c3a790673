"""A run's precision: its compared variants' headline CIs counted against the target."""

import math

import pandas as pd

from pairbench.results import CLOSED, CONTROL_KEY, OPEN
from pairbench.stats.precision import precision


def row(technique: str, variant: str, width: float, **more: object) -> dict[str, object]:
    return {
        "technique": technique,
        "variant": variant,
        "point": "n=1",
        "mode": CLOSED,
        "baseline": False,
        "headline_ci_half_width": width,
        **more,
    }


SUMMARY = pd.DataFrame(
    [
        row("n_plus_one", "naive", math.nan, baseline=True),  # its own baseline: no CI
        row("n_plus_one", "joined", 0.04),
        row("n_plus_one", "selectin", 0.15),
        row("stampede", "single_flight", 0.52),
        row("pooling", "pooled", math.nan),  # no CI (one round): not counted
        row("pooling", "pooled", 0.01, mode=OPEN),  # closed loop only
        row(CONTROL_KEY, "b", 0.02),  # the noise floor, not a verdict
    ]
)


def test_counts_the_compared_variants_closed_loop_ci_against_the_target() -> None:
    found = precision(SUMMARY, 0.10)
    assert found.measured == 3
    assert (found.within(0.10), found.within(0.20)) == (1, 2)
    assert found.median == 0.15
    assert found.widest()[0] == ("stampede/single_flight at n=1", 0.52)
    line = found.describe()
    assert "1 of 3 headline CIs within +/-10% (the profile's target)" in line
    assert "2 within +/-20%" in line and "stampede/single_flight at n=1 +/-52%" in line
    entry = found.manifest_entry()
    counts = entry["within_target"], entry["within_twice_target"], entry["headline_cis"]
    assert counts == (1, 2, 3)


def test_a_profile_of_fixed_rounds_is_counted_against_ten_percent_and_says_so() -> None:
    line = precision(SUMMARY, None).describe()
    assert "1 of 3 headline CIs within +/-10% (no target: fixed rounds)" in line
    assert precision(SUMMARY, None).manifest_entry()["target_half_width"] is None


def test_a_run_without_a_ci_says_so() -> None:
    assert "no headline CI" in precision(SUMMARY.iloc[:1], 0.10).describe()
    assert precision(pd.DataFrame(), 0.10).measured == 0


def test_a_ci_from_one_round_is_not_counted() -> None:
    """A one-round CI bootstraps one segment's requests: none of the rounds' noise is in it."""
    rounds = SUMMARY.assign(repetitions=[3, 3, 1, 3, 1, 3, 3])
    assert list(precision(rounds, 0.10).widths) == [
        "n_plus_one/joined at n=1",
        "stampede/single_flight at n=1",
    ]
    one_round = SUMMARY.assign(repetitions=1)
    assert "no headline CI from two rounds or more" in precision(one_round, None).describe()
