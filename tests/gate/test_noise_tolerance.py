"""Gate tolerances from the noise the baseline run measured, not one default."""

from pathlib import Path

import pandas as pd
import pytest

from pairbench.gate.check import DEFAULT_SPEEDUP_TOLERANCE, compare, make_baseline
from pairbench.results import CONTROL_KEY
from pairbench.stats.tolerance import (
    MAX_SPEEDUP_TOLERANCE,
    MIN_SPEEDUP_TOLERANCE,
    noise_tolerances,
    tolerance_of,
)
from tests.gate.test_check import write_run


def summary(selectin: float, half_width: float = 0.05, floor: float | None = 0.02) -> pd.DataFrame:
    """n_plus_one with selectin `selectin`x faster (+/- half_width), and an A/A control."""
    rows = [
        ("n_plus_one", "naive", True, 1.0, 1.0, 1.0, "baseline"),
        ("n_plus_one", "selectin", False, selectin, selectin * (1 - half_width),
         selectin * (1 + half_width), "faster"),
    ]  # fmt: skip
    if floor is not None:
        rows += [
            (CONTROL_KEY, "a", True, 1.0, 1.0, 1.0, "baseline"),
            (CONTROL_KEY, "b", False, 1.0, 1 - floor, 1 + floor, "no significant difference"),
        ]
    frame = pd.DataFrame(
        rows,
        columns=["technique", "variant", "baseline", "speedup_p50", "speedup_ci_low",
                 "speedup_ci_high", "verdict"],
    )  # fmt: skip
    frame["point"] = "default"
    frame["equivalent"] = True
    frame["queries_per_request"] = 2.0
    spread = frame["speedup_ci_high"] - frame["speedup_ci_low"]
    frame["speedup_ci_half_width"] = spread / 2 / frame["speedup_p50"]
    return frame


def regressed(baseline: dict[str, object], current: pd.DataFrame) -> bool:
    return any(finding.regressed for finding in compare(baseline, current))


def test_the_tolerance_is_the_floor_plus_half_the_techniques_spread_within_bounds() -> None:
    assert tolerance_of(0.02, 0.10) == pytest.approx(0.07)
    assert tolerance_of(0.001, 0.0) == MIN_SPEEDUP_TOLERANCE
    assert tolerance_of(0.40, 0.40) == MAX_SPEEDUP_TOLERANCE
    found = noise_tolerances(summary(2.0, half_width=0.10, floor=0.02))
    assert found.floor == pytest.approx(0.02)
    assert found.tolerances == {"n_plus_one": pytest.approx(0.07)}
    assert CONTROL_KEY not in found.tolerances


def test_a_baseline_records_its_noise_and_a_run_without_control_keeps_the_default(
    tmp_path: Path,
) -> None:
    measured = make_baseline(write_run(tmp_path / "a", summary(2.0)), summary(2.0))
    assert measured["speedup_tolerances"] == {"n_plus_one": pytest.approx(0.045)}
    assert measured["noise"]["floor_half_width"] == 0.02
    unmeasured = summary(2.0, floor=None)
    old_style = make_baseline(write_run(tmp_path / "b", unmeasured), unmeasured)
    assert old_style["speedup_tolerances"] == {}  # compare() falls back to the default


def test_a_20_percent_fall_is_caught_that_the_old_default_let_pass(tmp_path: Path) -> None:
    baseline = make_baseline(write_run(tmp_path / "base", summary(2.0)), summary(2.0))
    assert not regressed(baseline, summary(2.0))  # unchanged code passes
    assert regressed(baseline, summary(2.0 / 1.25))
    with_default = {**baseline, "speedup_tolerances": {"*": DEFAULT_SPEEDUP_TOLERANCE}}
    assert not regressed(with_default, summary(2.0 / 1.25))


def test_the_control_is_never_gated_even_if_its_baseline_came_out_faster(
    tmp_path: Path,
) -> None:
    lucky = summary(2.0).assign(connections_per_request=0.0)
    lucky.loc[lucky["variant"] == "b", ["speedup_ci_low", "verdict"]] = [1.01, "faster"]
    baseline = make_baseline(write_run(tmp_path / "base", lucky), lucky)
    pool_filling = summary(2.0).assign(connections_per_request=0.0)
    pool_filling.loc[pool_filling["technique"] == CONTROL_KEY, "connections_per_request"] = 0.06
    pool_filling.loc[pool_filling["technique"] == CONTROL_KEY, "speedup_ci_high"] = 0.5
    findings = compare(baseline, pool_filling)
    assert findings and not any(finding.technique == CONTROL_KEY for finding in findings)
    assert not any(finding.regressed for finding in findings)
