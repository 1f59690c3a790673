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

What moves from one job to the next beyond both CIs, one run cannot see: a variant whose
cost depends on the machine's state (pooling's connection per request: PostgreSQL starting
a backend) moves between jobs more than within one. Given more runs of the same code (a
baseline made from several gate runs), a technique's tolerance also covers the largest
fall seen between any two of them (one run's CI upper bound below another's CI lower bound)
plus the floor, within the same MAX.

MIN is what a speedup moves from one job to the next beyond both runs' CIs, which neither
run can see: over three gate runs of unchanged techniques on a 2-core machine (one on a quiet
machine, two after `make test`), a speedup moved by a median 3.5% and at the 95th
percentile 10%; projection/columns moved 8.4% with CIs of +/-2.3% on either side, past the
floor plus its spread (5%). With 10%, a 20% loss of a speedup measured to +/-5% still
falls below the limit.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pairbench.results import CONTROL_ARMS, CONTROL_KEY, SEGMENT_KEY, as_float, json_number

MIN_SPEEDUP_TOLERANCE = 0.10  # see the module's docstring
MAX_SPEEDUP_TOLERANCE = 0.45


@dataclass(frozen=True)
class NoiseTolerances:
    """Each technique's tolerance, and the floor and spreads it came from."""

    floor: float  # the A/A control's CI half-width (NaN: the run had none)
    spreads: dict[str, float]  # technique -> its widest headline CI half-width
    tolerances: dict[str, float]  # technique -> its speedup tolerance
    runs: int = 1  # runs of the same code measured (the baseline's and its reruns)
    falls: dict[str, float] = field(default_factory=dict)  # technique -> largest fall between runs

    def manifest_entry(self) -> dict[str, Any]:
        entry = {
            "floor_half_width": json_number(self.floor),
            "spread_half_widths": {key: json_number(value) for key, value in self.spreads.items()},
            "rule": "floor + spread / 2, within "
            f"[{MIN_SPEEDUP_TOLERANCE:g}, {MAX_SPEEDUP_TOLERANCE:g}]",
        }
        if self.runs > 1:
            entry["runs"] = self.runs
            entry["falls_between_runs"] = {key: round(fall, 4) for key, fall in self.falls.items()}
            entry["rule"] = (
                "the larger of floor + spread / 2 and floor + the largest fall between the "
                f"runs, within [{MIN_SPEEDUP_TOLERANCE:g}, {MAX_SPEEDUP_TOLERANCE:g}]"
            )
        return entry


def _half_width(row: pd.Series) -> float:
    for column in ("headline_ci_half_width", "speedup_ci_half_width"):
        try:
            value = float(row.get(column, math.nan))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            return value
    return math.nan


def floor_of(summary: pd.DataFrame) -> float:
    """A run's noise floor: its A/A control's CI half-width (NaN where it had none)."""
    techniques = summary["technique"].astype(str)
    control = summary[(techniques == CONTROL_KEY) & (summary["variant"] == CONTROL_ARMS[1])]
    return _half_width(control.iloc[0]) if len(control) else math.nan


def tolerance_of(floor: float, spread: float, fall: float = 0.0) -> float:
    """One technique's tolerance from the run's floor, its own spread and the largest fall
    between runs of the same code (NaN if unknown)."""
    if math.isnan(floor):
        return math.nan
    found = floor + max(0.0 if math.isnan(spread) else spread / 2.0, fall)
    return min(max(found, MIN_SPEEDUP_TOLERANCE), MAX_SPEEDUP_TOLERANCE)


HEADLINE = ["headline_speedup", "headline_ci_low", "headline_ci_high", "headline_verdict"]


def falls_between(summaries: Sequence[pd.DataFrame]) -> dict[str, float]:
    """technique -> the largest fall, over every ordered pair of these runs and the
    technique's variants significantly better in the first, of the second run's headline CI
    upper bound below the first's CI lower bound, as a share of that bound (only falls)."""
    tables = [
        summary[summary["technique"].astype(str) != CONTROL_KEY]
        for summary in summaries
        if set(HEADLINE) <= set(summary.columns)
    ]
    falls: dict[str, float] = {}
    for first, second in itertools.permutations(tables, 2):
        won = first[(~first["baseline"].astype(bool)) & (first["headline_verdict"] == "faster")]
        pairs = won.merge(
            second[[*SEGMENT_KEY, "headline_ci_high"]], on=SEGMENT_KEY, suffixes=("", "_next")
        )
        for row in pairs.itertuples():
            low = min(as_float(row.headline_speedup), as_float(row.headline_ci_low))
            fall = 1.0 - as_float(row.headline_ci_high_next) / low if low > 0 else math.nan
            technique = str(row.technique)
            if math.isfinite(fall) and fall > falls.get(technique, 0.0):
                falls[technique] = fall
    return falls


def noise_tolerances(summary: pd.DataFrame, runs: Sequence[pd.DataFrame] = ()) -> NoiseTolerances:
    """Per technique of a run's summary, its tolerance from the run's measured noise, and
    from how far its speedups moved between `runs` (every run of the same code measured,
    the summary's own among them)."""
    techniques = summary["technique"].astype(str)
    floor = floor_of(summary)
    spreads: dict[str, float] = {}
    for technique, rows in summary[techniques != CONTROL_KEY].groupby("technique", sort=False):
        widths = [_half_width(row) for _, row in rows.iterrows() if not bool(row["baseline"])]
        finite = [width for width in widths if math.isfinite(width)]
        spreads[str(technique)] = max(finite) if finite else math.nan
    falls = falls_between(runs) if len(runs) > 1 else {}
    tolerances = {
        key: tolerance_of(floor, spread, falls.get(key, 0.0))
        for key, spread in spreads.items()
        if not math.isnan(tolerance_of(floor, spread))
    }
    return NoiseTolerances(floor, spreads, tolerances, max(len(runs), 1), falls)
