"""The gate's speedup tolerance per technique, from the noise its baseline run measured.

The gate calls a speedup regressed when the current CI's upper bound falls below the
baseline CI's lower bound times (1 - tolerance). Both CIs already hold the technique's
round-to-round spread within its run; the tolerance is for what they miss from one run
to the next. Of that, the run measures two things: its noise floor (the A/A control's CI
half-width: what any comparison moves by in this run, technique aside) and the
technique's own spread (its widest headline CI half-width), which a technique noisier
than the floor carries into the next run too. The tolerance is the floor plus half the
technique's spread, within bounds: never below MIN, never past MAX (a gate that cannot see
a halving guards nothing). A run without a control has no floor: its baseline keeps the
default tolerance.

MIN is what a speedup moves from one job to the next beyond both runs' CIs, which neither
run can see: over three gate runs of unchanged techniques on a 2-core machine (one on a quiet
machine, two after `make test`), a speedup moved by a median 3.5% and at the 95th
percentile 10%; projection/columns moved 8.4% with CIs of +/-2.3% on either side, past the
floor plus its spread (5%). With 10%, a 20% loss of a speedup measured to +/-5% still
falls below the limit.
"""

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pairbench.results import CONTROL_ARMS, CONTROL_KEY, json_number

MIN_SPEEDUP_TOLERANCE = 0.10  # see the module's docstring
MAX_SPEEDUP_TOLERANCE = 0.45


@dataclass(frozen=True)
class NoiseTolerances:
    """Each technique's tolerance, and the floor and spreads it came from."""

    floor: float  # the A/A control's CI half-width (NaN: the run had none)
    spreads: dict[str, float]  # technique -> its widest headline CI half-width
    tolerances: dict[str, float]  # technique -> its speedup tolerance

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "floor_half_width": json_number(self.floor),
            "spread_half_widths": {key: json_number(value) for key, value in self.spreads.items()},
            "rule": "floor + spread / 2, within "
            f"[{MIN_SPEEDUP_TOLERANCE:g}, {MAX_SPEEDUP_TOLERANCE:g}]",
        }


def _half_width(row: pd.Series) -> float:
    for column in ("headline_ci_half_width", "speedup_ci_half_width"):
        try:
            value = float(row.get(column, math.nan))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            return value
    return math.nan


def tolerance_of(floor: float, spread: float) -> float:
    """One technique's tolerance from the run's floor and its own spread (NaN if unknown)."""
    if math.isnan(floor):
        return math.nan
    found = floor + (0.0 if math.isnan(spread) else spread / 2.0)
    return min(max(found, MIN_SPEEDUP_TOLERANCE), MAX_SPEEDUP_TOLERANCE)


def noise_tolerances(summary: pd.DataFrame) -> NoiseTolerances:
    """Per technique of a run's summary, its tolerance from the run's measured noise."""
    techniques = summary["technique"].astype(str)
    control = summary[(techniques == CONTROL_KEY) & (summary["variant"] == CONTROL_ARMS[1])]
    floor = _half_width(control.iloc[0]) if len(control) else math.nan
    spreads: dict[str, float] = {}
    for technique, rows in summary[techniques != CONTROL_KEY].groupby("technique", sort=False):
        widths = [_half_width(row) for _, row in rows.iterrows() if not bool(row["baseline"])]
        finite = [width for width in widths if math.isfinite(width)]
        spreads[str(technique)] = max(finite) if finite else math.nan
    tolerances = {
        key: tolerance_of(floor, spread)
        for key, spread in spreads.items()
        if not math.isnan(tolerance_of(floor, spread))
    }
    return NoiseTolerances(floor, spreads, tolerances)
