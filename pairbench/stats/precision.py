"""How precise a run's verdicts came out: its headline CIs against the profile's target.

The stopping rule seeks a CI half-width per point (quick: +/-10%) within a budget of
rounds and seconds; where the budget runs out first, the point says so in a warning. This
counts them for the whole run, so that a reader sees at once how many verdicts met the
target, how many came within twice it, and which were the widest: on a noisy machine the
answer may be "few", and the run should say so rather than leave it to be inferred.
"""

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pairbench.results import CLOSED, json_number
from pairbench.stats.noise_floor import without_control

WIDEST_SHOWN = 3


@dataclass(frozen=True)
class Precision:
    """The headline CIs of a run's compared variants, against a half-width target."""

    target: float | None  # the profile's target half-width (None: fixed rounds, no target)
    widths: dict[str, float]  # "technique/variant at point" -> headline CI half-width

    @property
    def measured(self) -> int:
        return len(self.widths)

    def within(self, half_width: float) -> int:
        return sum(1 for width in self.widths.values() if width <= half_width)

    @property
    def median(self) -> float:
        return float(pd.Series(list(self.widths.values())).median()) if self.widths else math.nan

    def widest(self) -> list[tuple[str, float]]:
        return sorted(self.widths.items(), key=lambda item: -item[1])[:WIDEST_SHOWN]

    def describe(self) -> str:
        if not self.widths:
            return "precision: no headline CI from two rounds or more in this run"
        bound = self.target if self.target else 0.10
        named = "the profile's target" if self.target else "no target: fixed rounds"
        widest = ", ".join(f"{label} +/-{width:.0%}" for label, width in self.widest())
        return (
            f"precision: {self.within(bound)} of {self.measured} headline CIs within "
            f"+/-{bound:.0%} ({named}), {self.within(2 * bound)} within +/-{2 * bound:.0%}, "
            f"median +/-{self.median:.1%}; widest: {widest}"
        )

    def manifest_entry(self) -> dict[str, Any]:
        bound = self.target if self.target else 0.10
        return {
            "target_half_width": json_number(self.target) if self.target else None,
            "headline_cis": self.measured,
            "within_target": self.within(bound),
            "within_twice_target": self.within(2 * bound),
            "median_half_width": json_number(self.median),
            "widest": [{"variant": label, "half_width": width} for label, width in self.widest()],
        }


def precision(summary: pd.DataFrame, target: float | None) -> Precision:
    """The closed-loop headline CIs of the summary's compared variants, from two rounds or
    more (not baselines, not the A/A control; a one-round CI, a bootstrap of one segment's
    requests, holds none of the round-to-round noise this counts)."""
    rows = without_control(summary)
    if "headline_ci_half_width" not in rows or rows.empty:
        return Precision(target, {})
    rows = rows[(~rows["baseline"].astype(bool)) & (rows["mode"].astype(str) == CLOSED)]
    if "repetitions" in rows:
        rows = rows[pd.to_numeric(rows["repetitions"], errors="coerce") >= 2]
    widths = {}
    for row in rows.itertuples():
        width = float(getattr(row, "headline_ci_half_width", math.nan))
        if math.isfinite(width):
            at = f" at {row.point}" if str(row.point) else ""
            widths[f"{row.technique}/{row.variant}{at}"] = width
    return Precision(target, widths)
