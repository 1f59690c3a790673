"""The SLO gate (`pairbench check --slo`): every optimized variant must meet the SLOs.

Like k6 thresholds: a run fails when what it measured breaks an objective. Checked
per optimized variant (a technique's baseline is the mistake it shows, expected to be
slow) at its technique's default parameters, in every load mode the run measured.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pairbench.slo import Objective, Slos
from pairbench.stats.slo import objective_value


@dataclass(frozen=True)
class SloFinding:
    """The SLO gate's finding on one objective of one optimized variant: its measured value
    against the limit (the report's per-row verdict is pairbench.stats.slo.SloCheck)."""

    technique: str
    variant: str
    point: str
    mode: str
    objective: Objective
    limit: float
    value: float  # NaN: nothing measured, which breaks the objective

    @property
    def met(self) -> bool:
        return self.objective.met(self.value, self.limit)

    def describe(self) -> str:
        value = "no data" if not math.isfinite(self.value) else f"{self.value:.4g}"
        verdict = "met" if self.met else "BROKEN"
        return (
            f"{verdict}: {self.technique}/{self.variant} at {self.point} ({self.mode} loop): "
            f"{self.objective.label} {value}{self.objective.unit} "
            f"(must be {self.objective.sign} {self.limit:g}{self.objective.unit})"
        )


def _is_true(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def check_slos(
    summary: pd.DataFrame, slos: Slos, defaults: Mapping[str, str] | None = None
) -> list[SloFinding]:
    """Every set objective of every optimized variant at its default point (all points of a
    technique with no recorded default), in every load mode."""
    checks = []
    records = [
        {str(key): value for key, value in row.items()} for row in summary.to_dict("records")
    ]
    for row in records:
        technique, point = str(row["technique"]), str(row["point"])
        if _is_true(row.get("baseline")):
            continue
        if defaults and technique in defaults and defaults[technique] != point:
            continue
        for objective, limit in slos.limits():
            value = objective_value(row, objective)
            if value is not None:
                checks.append(
                    SloFinding(
                        technique,
                        str(row["variant"]),
                        point,
                        str(row.get("mode") or "closed"),
                        objective,
                        limit,
                        value,
                    )
                )
    return checks


def render_slo_text(checks: Sequence[SloFinding], slos: Slos, verbose: bool = False) -> str:
    broken = [check for check in checks if not check.met]
    lines = [check.describe() for check in checks if verbose or not check.met]
    variants = len({(check.technique, check.variant, check.mode) for check in checks})
    outcome = f"{len(broken)} broken" if broken else "all met"
    lines.append(
        f"SLOs ({slos.describe()}): {len(checks)} checks of {variants} variants: {outcome}"
    )
    return "\n".join(lines)


def render_slo_markdown(checks: Sequence[SloFinding], slos: Slos) -> str:
    """The SLO table for check.md: every optimized variant against every objective."""
    broken = sum(not check.met for check in checks)
    icon = ":x:" if broken else ":white_check_mark:"
    lines = [
        f"## SLOs {icon}",
        "",
        f"{slos.describe()}; {broken} of {len(checks)} checks broken.",
        "",
        "| status | technique | variant | point | mode | objective | value | limit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for check in checks:
        objective = check.objective
        value = f"{check.value:.4g}" if math.isfinite(check.value) else "no data"
        lines.append(
            f"| {'met' if check.met else 'BROKEN'} | {check.technique} | {check.variant} | "
            f"{check.point} | {check.mode} | {objective.label} | {value}{objective.unit} | "
            f"{objective.sign} {check.limit:g}{objective.unit} |"
        )
    return "\n".join(lines) + "\n"
