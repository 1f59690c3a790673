"""Gate tolerances from the noise a run measured: the A/A control's floor plus half each
technique's own spread, within bounds."""

import pandas as pd
import pytest

from pairbench.results import CONTROL_KEY
from pairbench.stats.tolerance import (
    MAX_SPEEDUP_TOLERANCE,
    MIN_SPEEDUP_TOLERANCE,
    noise_tolerances,
    tolerance_of,
)


def summary(selectin: float, half_width: float = 0.05, floor: float | None = 0.02) -> pd.DataFrame:
    """n_plus_one with selectin `selectin`x faster (+/- half_width), and an A/A control."""
    rows = [
        ("n_plus_one", "naive", True, 1.0, 1.0, 1.0, "baseline"),
        (
            "n_plus_one",
            "selectin",
            False,
            selectin,
            selectin * (1 - half_width),
            selectin * (1 + half_width),
            "faster",
        ),
    ]
    if floor is not None:
        rows += [
            (CONTROL_KEY, "a", True, 1.0, 1.0, 1.0, "baseline"),
            (CONTROL_KEY, "b", False, 1.0, 1 - floor, 1 + floor, "no significant difference"),
        ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "technique",
            "variant",
            "baseline",
            "speedup_p50",
            "speedup_ci_low",
            "speedup_ci_high",
            "verdict",
        ],
    )
    frame["point"] = "default"
    frame["equivalent"] = True
    frame["queries_per_request"] = 2.0
    spread = frame["speedup_ci_high"] - frame["speedup_ci_low"]
    frame["speedup_ci_half_width"] = spread / 2 / frame["speedup_p50"]
    return frame


def test_the_tolerance_is_the_floor_plus_half_the_techniques_spread_within_bounds() -> None:
    assert tolerance_of(0.06, 0.10) == pytest.approx(0.11)
    assert tolerance_of(0.02, 0.10) == MIN_SPEEDUP_TOLERANCE
    assert tolerance_of(0.40, 0.40) == MAX_SPEEDUP_TOLERANCE
    found = noise_tolerances(summary(2.0, half_width=0.10, floor=0.06))
    assert found.floor == pytest.approx(0.06)
    assert found.tolerances == {"n_plus_one": pytest.approx(0.11)}
    assert CONTROL_KEY not in found.tolerances


def with_headline(frame: pd.DataFrame) -> pd.DataFrame:
    """The summary's p50 speedups as its headline columns, as the stats stage writes them."""
    return frame.assign(
        mode="closed",
        headline_speedup=frame["speedup_p50"],
        headline_ci_low=frame["speedup_ci_low"],
        headline_ci_high=frame["speedup_ci_high"],
        headline_verdict=frame["verdict"],
    )


def test_reruns_widen_a_tolerance_by_the_largest_fall_seen_between_them() -> None:
    """selectin 3.0x [2.85, 3.15] in the baseline's run; a rerun's 2.4x [2.28, 2.52] lies 11.6%
    below its CI's low, beyond what either run's CIs and floor (+/-2%) hold."""
    first = with_headline(summary(3.0, half_width=0.05, floor=0.02))
    rerun = with_headline(summary(2.4, half_width=0.05, floor=0.02))
    alone = noise_tolerances(first)
    assert alone.tolerances["n_plus_one"] == MIN_SPEEDUP_TOLERANCE
    found = noise_tolerances(first, [first, rerun])
    fall = 1 - 2.52 / 2.85
    assert found.falls == {"n_plus_one": pytest.approx(fall)}
    assert found.tolerances["n_plus_one"] == pytest.approx(0.02 + fall)
    # So the rerun itself passes against it: its CI's upper bound is above the limit.
    assert 2.52 >= 2.85 * (1 - found.tolerances["n_plus_one"])
    entry = found.manifest_entry()
    assert entry["runs"] == 2 and "largest fall between the runs" in entry["rule"]
    # Reruns whose CIs overlap widen nothing; a fall counts either way round; never past MAX.
    assert noise_tolerances(first, [first, with_headline(summary(3.05))]).falls == {}
    both_ways = noise_tolerances(rerun, [rerun, first]).falls["n_plus_one"]
    assert both_ways == pytest.approx(fall)
    collapse = with_headline(summary(0.5, floor=0.02))
    assert (
        noise_tolerances(first, [first, collapse]).tolerances["n_plus_one"] == MAX_SPEEDUP_TOLERANCE
    )
