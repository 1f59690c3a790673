"""Where a setting stops paying: the knee of a sweep whose cost falls as the setting rises.

A sweep of work (rows, authors) asks how cost grows with it; a sweep of a setting (a job
worker's concurrency) asks where more of it stops helping. Its finding is the knee, by one
stated rule: the smallest setting whose rate (requests per second, or the units of work
they carry: jobs per second) is at least KNEE_SHARE of the best rate measured. Past the
knee, the rest of the sweep adds less than 1 - KNEE_SHARE; below it, every setting falls
short of the best by more than that. The best is a measured point, not a fitted asymptote,
so one lucky point can move it: the share leaves room for the noise of a probe's medians.
A setting pays only where its best rate is at least MIN_GAIN times the smallest setting's:
short of that (a variant that ignores the setting, a machine with no core to spare), the
pick is the smallest setting, and the sentence says more does not pay.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

KNEE_SHARE = 0.9
MIN_GAIN = 1.5
REQUESTS = "requests"  # the unit of a rate when a request carries no declared work


@dataclass(frozen=True)
class Knee:
    """The setting picked by the rule, and the best one it is measured against."""

    value: float
    rate: float  # units per second at the knee
    best_value: float
    best_rate: float
    top: float  # the largest setting measured
    first_rate: float = math.nan  # at the smallest setting measured

    @property
    def pays(self) -> bool:
        """More of the setting buys at least MIN_GAIN times the smallest setting's rate."""
        return self.best_rate >= MIN_GAIN * self.first_rate

    @property
    def at_the_top(self) -> bool:
        """Still rising at the sweep's last setting: the knee may lie past it."""
        return self.value == self.top


def rate_per_s(cost_ms: float, work: float = 1.0) -> float:
    """Units of work per second for one request of `cost_ms` carrying `work` units."""
    return work / cost_ms * 1000.0 if cost_ms > 0 else math.nan


def find_knee(points: Sequence[tuple[float, float, float]]) -> Knee | None:
    """The knee of (setting, cost ms, work per request) points; None with fewer than two
    settings of positive cost."""
    rates = sorted(
        (value, rate_per_s(cost, work))
        for value, cost, work in points
        if cost > 0 and math.isfinite(cost) and math.isfinite(value)
    )
    if len({value for value, _ in rates}) < 2:
        return None
    best_value, best_rate = max(rates, key=lambda pair: pair[1])
    first_value, first_rate = rates[0]
    if best_rate < MIN_GAIN * first_rate:
        return Knee(first_value, first_rate, best_value, best_rate, rates[-1][0], first_rate)
    value, rate = next((v, r) for v, r in rates if r >= KNEE_SHARE * best_rate)
    return Knee(value, rate, best_value, best_rate, rates[-1][0], first_rate)


def knee_sentence(variant: str, parameter: str, knee: Knee, unit: str) -> str:
    """ "concurrent levels off at concurrency 8: 710 jobs/s, ...", in plain text."""
    rate = f"{knee.rate:.3g} {unit}/s"
    if not knee.pays:
        return (
            f"{variant}: more {parameter} does not pay here: its best "
            f"({knee.best_rate:.3g} {unit}/s at {knee.best_value:g}) is under {MIN_GAIN:g}x "
            f"its rate at {knee.value:g} ({rate}); the setting to pick is {knee.value:g}"
        )
    if knee.at_the_top:
        return (
            f"{variant} still rising at {parameter} {knee.value:g} ({rate}): "
            "its knee, if it has one, lies past the sweep"
        )
    return (
        f"{variant} levels off at {parameter} {knee.value:g}: {rate}, within "
        f"{1 - KNEE_SHARE:.0%} of its best ({knee.best_rate:.3g} {unit}/s at "
        f"{knee.best_value:g}); the setting to pick on this machine"
    )
