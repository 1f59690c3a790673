"""The run's noise floor: the A/A control's speedup CI (one variant against itself).

Its true ratio is 1, so the width of its CI is what noise alone gives a comparison in
this run: a speedup whose CI is not clearly wider than that, or a difference smaller
than it, is within the noise. The gate takes its tolerances from it too.
"""

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pairbench.manifest import Manifest
from pairbench.results import CONTROL_ARMS, CONTROL_KEY, json_number


@dataclass(frozen=True)
class NoiseFloor:
    """The A/A control's ratio and CI (arm b against arm a), over `rounds` rounds."""

    control: str  # "technique/variant" measured against itself
    speedup: float
    low: float
    high: float
    rounds: int
    verdict: str

    @property
    def half_width(self) -> float:
        """Half the CI's width as a share of the estimate (NaN without a CI)."""
        if not self.speedup > 0 or math.isnan(self.low) or math.isnan(self.high):
            return math.nan
        return (self.high - self.low) / 2.0 / self.speedup

    def describe(self) -> str:
        width = self.half_width
        ci = f"[{self.low:.3f}, {self.high:.3f}], +/-{width:.1%}" if width == width else "no CI"
        line = (
            f"noise floor (A/A control: {self.control} against itself, {self.rounds} "
            f"round{'s' if self.rounds != 1 else ''}): {self.speedup:.3f}x {ci}"
        )
        if self.verdict not in ("no significant difference", "no data"):
            line += (
                f"; WARNING: the two arms differ ({self.verdict}): segments of one variant "
                "are not alike here (drift, order effects)"
            )
        return line

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "speedup": json_number(self.speedup),
            "ci_low": json_number(self.low),
            "ci_high": json_number(self.high),
            "half_width": json_number(self.half_width),
            "rounds": self.rounds,
            "verdict": self.verdict,
        }


def noise_floor(summary: pd.DataFrame, manifest: Manifest) -> NoiseFloor | None:
    """The run's noise floor from its summary's control rows (None if it measured none)."""
    rows = summary[
        (summary["technique"].astype(str) == CONTROL_KEY)
        & (summary["variant"].astype(str) == CONTROL_ARMS[1])
    ]
    if rows.empty:
        return None
    row = rows.iloc[0]
    control = manifest.control or str(row["point"])

    def number(column: str) -> float:
        try:
            return float(row[column])
        except (KeyError, TypeError, ValueError):
            return math.nan

    rounds = number("repetitions")
    return NoiseFloor(
        str(control),
        number("speedup_p50"),
        number("speedup_ci_low"),
        number("speedup_ci_high"),
        0 if math.isnan(rounds) else int(rounds),
        str(row.get("verdict", "")),
    )


def without_control(frame: pd.DataFrame) -> pd.DataFrame:
    """A table's rows of the techniques proper (the A/A control's left out)."""
    if "technique" not in frame:
        return frame
    return frame[frame["technique"].astype(str) != CONTROL_KEY]
