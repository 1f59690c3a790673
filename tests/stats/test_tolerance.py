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
